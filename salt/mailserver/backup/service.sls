# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set backup = mailserver.backup %}

include:
  - {{ tplroot }}.backup.config
{%- if backup.enabled %}

mailserver-backup-service-timer-running:
  service.running:
    - name: {{ backup.timer }}
    - enable: true
    - require:
      - cmd: mailserver-backup-config-cmd-run-check
      - cmd: mailserver-backup-config-cmd-run-daemon-reload
      - file: mailserver-backup-config-file-managed-known-hosts
    - watch:
      - file: mailserver-backup-config-file-managed
{%- else %}

# backups off: no timer (the repository, its key and the passphrase stay)
mailserver-backup-service-timer-dead:
  service.dead:
    - name: {{ backup.timer }}
    - enable: false
    - onlyif: systemctl cat {{ backup.timer }}
{%- endif %}
