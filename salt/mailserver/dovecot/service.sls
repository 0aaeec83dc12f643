# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.dovecot.config

mailserver-dovecot-service-running:
  service.running:
    - name: {{ mailserver.dovecot.service }}
    - enable: true
    - reload: true
    - watch:
      - file: mailserver-dovecot-config-file-managed
      - sls: {{ tplroot }}.tls
      - mailserver_db: mailserver-mariadb-database-reader-present
