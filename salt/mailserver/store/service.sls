# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set store = mailserver.store %}
{%- set vmail = mailserver.vmail %}

include:
  - {{ tplroot }}.store.package
  - {{ tplroot }}.store.config

# fails, naming the command to run, until the store is initialized and unlocked
mailserver-store-service-unlocked:
  mailserver_store.unlocked:
    - name: {{ store.mount_point }}
    - require:
      - pkg: mailserver-store-package-pkg-installed
      - user: mailserver-store-config-user-present-vmail
      - cmd: mailserver-store-config-cmd-run-daemon-reload

mailserver-store-service-file-directory-mail-root:
  file.directory:
    - name: {{ store.mail_root }}
    - user: {{ vmail.user }}
    - group: {{ vmail.group }}
    - mode: "0750"
    - require:
      - mailserver_store: mailserver-store-service-unlocked
