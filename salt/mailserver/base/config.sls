# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-base-config-file-managed-mailname:
  file.managed:
    - name: {{ mailserver.base.mailname_file }}
    - contents: {{ mailserver.mailname | json }}
    - user: root
    - group: root
    - mode: "0644"
