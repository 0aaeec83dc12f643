# -*- coding: utf-8 -*-
# vim: ft=sls
# The file goes; the values in force stay until the next boot.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-kernel-clean-file-absent:
  file.absent:
    - name: {{ mailserver.kernel.sysctl_file }}
