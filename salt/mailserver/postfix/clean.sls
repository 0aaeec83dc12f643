# -*- coding: utf-8 -*-
# vim: ft=sls
# Postfix and the formula's database maps go; the queue and Debian's configuration files stay,
# as dpkg leaves them.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set postfix = mailserver.postfix %}

mailserver-postfix-clean-service-dead:
  service.dead:
    - name: {{ postfix.service }}
    - enable: false

mailserver-postfix-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ postfix.pkgs | json }}
    - require:
      - service: mailserver-postfix-clean-service-dead

mailserver-postfix-clean-file-absent-sql:
  file.absent:
    - name: {{ postfix.sql_dir }}
    - require:
      - pkg: mailserver-postfix-clean-pkg-removed
