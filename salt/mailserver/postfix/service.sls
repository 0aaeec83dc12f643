# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.postfix.config
  - {{ tplroot }}.store
  - {{ tplroot }}.dovecot.service

mailserver-postfix-service-running:
  service.running:
    - name: {{ mailserver.postfix.service }}
    - enable: true
    - reload: true
    - require:
      # never on the bare mount point: only once the store is unlocked
      - mailserver_store: mailserver-store-unlocked
      - cmd: mailserver-postfix-config-cmd-run-check
      # SASL and LMTP sockets come from Dovecot
      - service: mailserver-dovecot-service-running
    - watch:
      - file: mailserver-postfix-config-file-managed-main.cf
      - file: mailserver-postfix-config-file-managed-master.cf
      - sls: {{ tplroot }}.tls
      - mailserver_db: mailserver-mariadb-database-reader-present
