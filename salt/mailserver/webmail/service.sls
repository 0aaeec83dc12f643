# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set webmail = mailserver.webmail %}

include:
  - {{ tplroot }}.webmail.config
  - {{ tplroot }}.store
  - {{ tplroot }}.tls

# its database and the attachments of messages being written: personal data, in the store
mailserver-webmail-service-file-directory:
  file.directory:
    - names:
      - {{ webmail.data_dir }}
      - {{ webmail.temp_dir }}
    - user: {{ webmail.user }}
    - group: {{ webmail.user }}
    - mode: "0750"
    - require:
      - mailserver_store: mailserver-store-service-unlocked
      - user: mailserver-webmail-config-user-present

# the pools must pass before PHP-FPM is reloaded with them (checked on every run until they do)
mailserver-webmail-service-cmd-run-check:
  cmd.run:
    - name: {{ webmail.fpm_binary }} -t
    - unless: {{ webmail.fpm_binary }} -t
    - require:
      - file: mailserver-webmail-config-file-managed-pool
      - file: mailserver-webmail-config-file-absent-default-pool

mailserver-webmail-service-running:
  service.running:
    - name: {{ webmail.service }}
    - enable: true
    - reload: true
    - require:
      # Roundcube keeps its data in the store: never on the bare mount point
      - mailserver_store: mailserver-store-service-unlocked
      - file: mailserver-webmail-service-file-directory
      - cmd: mailserver-webmail-service-cmd-run-check
    - watch:
      - file: mailserver-webmail-config-file-managed
      - file: mailserver-webmail-config-file-managed-pool
      - file: mailserver-webmail-config-file-absent-default-pool
      - mailserver_webmail: mailserver-webmail-config-secrets-present
      - sls: {{ tplroot }}.tls
