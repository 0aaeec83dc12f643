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

# mail flows again as soon as MariaDB is back (after a crash, a restart, an upgrade)
mailserver-mariadb-config-file-dropin:
  file.managed:
    - name: {{ mailserver.mariadb.dropin_file }}
    - source: salt://{{ tplroot }}/mariadb/files/dropin.conf.jinja
    - template: jinja
    - context:
        postfix_unit: {{ mailserver.postfix.unit | json }}
    - makedirs: true
    - user: root
    - group: root
    - mode: "0644"

mailserver-mariadb-config-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-mariadb-config-file-dropin
