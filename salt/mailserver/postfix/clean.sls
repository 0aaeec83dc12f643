# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-postfix-clean-service-dead:
  service.dead:
    - name: {{ mailserver.postfix.service }}
    - enable: false

mailserver-postfix-clean-file-absent-sql:
  file.absent:
    - name: {{ mailserver.postfix.sql_dir }}
    - require:
      - service: mailserver-postfix-clean-service-dead
