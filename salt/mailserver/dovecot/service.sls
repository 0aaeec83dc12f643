# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.dovecot.config
  - {{ tplroot }}.store

mailserver-dovecot-service-running:
  service.running:
    - name: {{ mailserver.dovecot.service }}
    - enable: true
    - reload: true
    - require:
      # never on the bare mount point: only once the store is unlocked
      - mailserver_store: mailserver-store-service-unlocked
      - cmd: mailserver-dovecot-config-cmd-run-daemon-reload
    - watch:
      - file: mailserver-dovecot-config-file-managed
      - file: mailserver-dovecot-config-file-replication-ca
      - cmd: mailserver-dovecot-config-cmd-run-sievec
      - sls: {{ tplroot }}.tls
      - mailserver_db: mailserver-mariadb-database-reader-present
