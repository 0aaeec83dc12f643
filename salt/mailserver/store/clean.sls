# -*- coding: utf-8 -*-
# vim: ft=sls
# The units' store conditions go. The store itself, its tool and its contents stay unless
# `clean:mail_store` is true: then it is locked and its cipher directory deleted, every
# message with it.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set store = mailserver.store %}

mailserver-store-clean-file-absent-dropins:
  file.absent:
    - names:
{%- for unit in store.dependents %}
      - /etc/systemd/system/{{ unit }}.d/mailserver-store.conf
{%- endfor %}

mailserver-store-clean-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-store-clean-file-absent-dropins
{%- if mailserver.clean.mail_store %}

mailserver-store-clean-module-run-lock:
  module.run:
    - mailserver_store.lock: []
    - onlyif: mountpoint -q {{ store.mount_point }}

mailserver-store-clean-file-absent-store:
  file.absent:
    - names:
      - {{ store.cipher_dir }}
      - {{ store.mount_point }}
    - require:
      - module: mailserver-store-clean-module-run-lock
{%- endif %}
