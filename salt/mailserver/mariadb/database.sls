# -*- coding: utf-8 -*-
# vim: ft=sls
# Hardened as mysql_secure_installation does; the mail database; its read-only user, whose
# password is generated on the host and written only into the Postfix and Dovecot files.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set db = mailserver.mariadb %}

include:
  - {{ tplroot }}.mariadb.service
  - {{ tplroot }}.postfix.package
  - {{ tplroot }}.dovecot.package

mailserver-mariadb-database-secured:
  mailserver_db.secured:
    - name: mariadb
    - require:
      - service: mailserver-mariadb-service-running

mailserver-mariadb-database-schema-present:
  mailserver_db.schema_present:
    - name: {{ db.database }}
    - require:
      - mailserver_db: mailserver-mariadb-database-secured

mailserver-mariadb-database-reader-present:
  mailserver_db.reader_present:
    - name: {{ db.reader }}
    - require:
      - mailserver_db: mailserver-mariadb-database-schema-present
      - pkg: mailserver-postfix-package-pkg-installed
      - pkg: mailserver-dovecot-package-pkg-installed
