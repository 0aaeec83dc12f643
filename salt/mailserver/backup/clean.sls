# -*- coding: utf-8 -*-
# vim: ft=sls
# Backups stop; the repository on the target, its key and passphrase here stay (they are
# what a restore needs).
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set backup = mailserver.backup %}

mailserver-backup-clean-service-dead:
  service.dead:
    - name: {{ backup.timer }}
    - enable: false
    - onlyif: systemctl cat {{ backup.timer }}

mailserver-backup-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ backup.pkgs | json }}
    - require:
      - service: mailserver-backup-clean-service-dead

mailserver-backup-clean-file-absent:
  file.absent:
    - names:
      - {{ backup.config_file }}
      - /etc/systemd/system/{{ backup.service }}.d/mailserver.conf
      - /etc/systemd/system/{{ backup.timer }}.d/mailserver.conf
    - require:
      - pkg: mailserver-backup-clean-pkg-removed
