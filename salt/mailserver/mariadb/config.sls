# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.mariadb.package

mailserver-mariadb-config-file-managed:
  file.managed:
    - name: {{ mailserver.mariadb.config_file }}
    - source: salt://{{ tplroot }}/mariadb/files/90-mailserver.cnf.jinja
    - template: jinja
    - context:
        mariadb: {{ mailserver.mariadb | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-mariadb-package-pkg-installed
