# -*- coding: utf-8 -*-
# vim: ft=sls
# Domains, mailboxes and aliases: the database holds exactly what pillar says (the state
# reads them from this run's model; no hash is written into the state's arguments).
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.mariadb.database
  - {{ tplroot }}.store
  - {{ tplroot }}.dovecot.service

mailserver-accounts-synced:
  mailserver_accounts.synced:
    - name: {{ mailserver.mariadb.database }}
    - require:
      - mailserver_db: mailserver-mariadb-database-schema-present
      - file: mailserver-store-service-file-directory-mail-root
      - service: mailserver-dovecot-service-running
