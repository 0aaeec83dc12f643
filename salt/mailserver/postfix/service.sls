# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set postfix = mailserver.postfix %}

include:
  - {{ tplroot }}.postfix.config
  - {{ tplroot }}.store
  - {{ tplroot }}.dovecot.service

# the whole configuration (and the maps it names) must pass before Postfix is reloaded with
# it (checked on every run until it passes: a failed check is never forgotten)
mailserver-postfix-service-cmd-run-check:
  cmd.run:
    - name: postfix check
    - unless: postfix check
    - require:
      - file: mailserver-postfix-config-file-managed
      - mailserver_db: mailserver-mariadb-database-reader-present

# Debian's postfix.service only wraps the instance that runs the MTA: enabled at boot ...
mailserver-postfix-service-enabled:
  service.enabled:
    - name: {{ postfix.service }}
    - require:
      - pkg: mailserver-postfix-package-pkg-installed

# ... and the instance is what must run
mailserver-postfix-service-running:
  service.running:
    - name: {{ postfix.unit }}
    - reload: true
    - require:
      # never on the bare mount point: only once the store is unlocked
      - mailserver_store: mailserver-store-service-unlocked
      - cmd: mailserver-postfix-service-cmd-run-check
      # SASL and LMTP sockets come from Dovecot
      - service: mailserver-dovecot-service-running
    - watch:
      - file: mailserver-postfix-config-file-managed
      - file: mailserver-postfix-config-file-managed-cluster
      - file: mailserver-postfix-config-file-managed-chroot-resolv-conf
      - sls: {{ tplroot }}.tls
      - mailserver_db: mailserver-mariadb-database-reader-present
