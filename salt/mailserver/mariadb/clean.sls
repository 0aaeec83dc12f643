# -*- coding: utf-8 -*-
# vim: ft=sls
# MariaDB goes; the mail database stays (apt's remove keeps /var/lib/mysql) unless
# `clean:database` is true: then the database and its read-only user are dropped first.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set db = mailserver.mariadb %}
{%- if mailserver.clean.database %}

mailserver-mariadb-clean-mysql-query-drop:
  cmd.run:
    - name: >-
        mysql -e "DROP DATABASE IF EXISTS \`{{ db.database }}\`;
        DROP USER IF EXISTS '{{ db.reader }}'@'localhost'"
    - onlyif: test -S {{ db.socket }}
    - require_in:
      - service: mailserver-mariadb-clean-service-dead

mailserver-mariadb-clean-file-absent-secret:
  file.absent:
    - name: {{ db.secret_file }}
{%- endif %}

mailserver-mariadb-clean-service-dead:
  service.dead:
    - name: {{ db.service }}
    - enable: false

mailserver-mariadb-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ db.pkgs | json }}
    - require:
      - service: mailserver-mariadb-clean-service-dead

mailserver-mariadb-clean-file-absent:
  file.absent:
    - names:
      - {{ db.config_file }}
      - {{ db.dropin_file }}
    - require:
      - pkg: mailserver-mariadb-clean-pkg-removed

mailserver-mariadb-clean-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-mariadb-clean-file-absent
