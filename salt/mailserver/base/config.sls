# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-base-config-file-managed-mailname:
  file.managed:
    - name: {{ mailserver.base.mailname_file }}
    - source: salt://{{ tplroot }}/base/files/mailname.jinja
    - template: jinja
    - context:
        mailname: {{ mailserver.mailname }}
    - user: root
    - group: root
    - mode: "0644"

# the model, for functions called from the command line (root only; it holds no secret)
mailserver-base-config-snapshot:
  mailserver.snapshot:
    - name: {{ mailserver.snapshot_file }}
