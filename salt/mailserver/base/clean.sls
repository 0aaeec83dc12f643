# -*- coding: utf-8 -*-
# vim: ft=sls
# /etc/mailname goes; the settings snapshot stays (the store's functions read it).
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-base-clean-file-absent-mailname:
  file.absent:
    - name: {{ mailserver.base.mailname_file }}
