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
{%- set cluster = mailserver.cluster %}
{%- if cluster.partner and cluster.primary == mailserver.hostname %}

# Replication: every mailbox's INBOX is made here, on the primary, before the replica syncs
# it, so the replica gets it with the primary's GUID (an INBOX made on both hosts apart
# conflicts in dsync, which then fails that user's syncs: docs/multihost.md)
mailserver-accounts-cmd-run-inboxes:
  cmd.run:
    - name: doveadm mailbox status -A guid INBOX >/dev/null
    - onchanges:
      - mailserver_accounts: mailserver-accounts-synced
      - file: mailserver-dovecot-config-file-managed
    - require:
      - service: mailserver-dovecot-service-running
{%- endif %}
