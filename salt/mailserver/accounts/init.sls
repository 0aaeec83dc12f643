# -*- coding: utf-8 -*-
# vim: ft=sls
# Domains, mailboxes and aliases: the database holds exactly what pillar says.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.mariadb.database
  - {{ tplroot }}.store
  - {{ tplroot }}.dovecot.service

mailserver-accounts-synced:
  mailserver_accounts.synced:
    - name: {{ mailserver.mariadb.database }}
    - accounts: {{ mailserver.accounts | json }}
    - mail_root: {{ mailserver.store.mail_root }}
    - purge: {{ mailserver.purge_removed_mailboxes | json }}
    - require:
      - mailserver_db: mailserver-mariadb-database-schema-present
      - file: mailserver-store-file-directory-mail-root
      - service: mailserver-dovecot-service-running
