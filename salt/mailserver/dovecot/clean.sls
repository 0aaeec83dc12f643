# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-dovecot-clean-service-dead:
  service.dead:
    - name: {{ mailserver.dovecot.service }}
    - enable: false

mailserver-dovecot-clean-file-absent-sql:
  file.absent:
    - name: {{ mailserver.dovecot.sql_file }}
    - require:
      - service: mailserver-dovecot-clean-service-dead
