# -*- coding: utf-8 -*-
# vim: ft=sls
# Stops MariaDB and removes the formula's configuration; the mail database stays.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-mariadb-clean-service-dead:
  service.dead:
    - name: {{ mailserver.mariadb.service }}
    - enable: false

mailserver-mariadb-clean-file-absent:
  file.absent:
    - name: {{ mailserver.mariadb.config_file }}
    - require:
      - service: mailserver-mariadb-clean-service-dead
