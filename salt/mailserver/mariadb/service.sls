# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.mariadb.config

mailserver-mariadb-service-running:
  service.running:
    - name: {{ mailserver.mariadb.service }}
    - enable: true
    - watch:
      - file: mailserver-mariadb-config-file-managed
