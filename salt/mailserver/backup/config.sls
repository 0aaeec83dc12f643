# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set backup = mailserver.backup %}

include:
  - {{ tplroot }}.backup.package
{%- if backup.enabled %}

# the repository's passphrase and the SSH key for the target: made here, root only
mailserver-backup-config-secrets-present:
  mailserver_backup.secrets_present:
    - name: {{ backup.dir }}
    - require:
      - pkg: mailserver-backup-package-pkg-installed

# the target's host key, from pillar: never trusted on first use
mailserver-backup-config-file-managed-known-hosts:
  file.managed:
    - name: {{ backup.known_hosts_file }}
    - source: salt://{{ tplroot }}/backup/files/known_hosts.jinja
    - template: jinja
    - context:
        backup: {{ backup | json }}
    - user: root
    - group: root
    - mode: "0600"
    - require:
      - mailserver_backup: mailserver-backup-config-secrets-present

mailserver-backup-config-file-managed:
  file.managed:
    - names:
      - {{ backup.config_file }}:
        - source: salt://{{ tplroot }}/backup/files/config.yaml.jinja
        - mode: "0600"
        - makedirs: true
      - /etc/systemd/system/{{ backup.service }}.d/mailserver.conf:
        - source: salt://{{ tplroot }}/backup/files/service.conf.jinja
        - mode: "0644"
        - makedirs: true
      - /etc/systemd/system/{{ backup.timer }}.d/mailserver.conf:
        - source: salt://{{ tplroot }}/backup/files/timer.conf.jinja
        - mode: "0644"
        - makedirs: true
    - template: jinja
    - context:
        backup: {{ backup | json }}
    - user: root
    - group: root
    - require:
      - pkg: mailserver-backup-package-pkg-installed

# the file the service's stderr goes to (systemd opens it: its directory must exist)
mailserver-backup-config-file-managed-log:
  file.managed:
    - name: {{ backup.log_file }}
    - replace: false
    - makedirs: true
    - user: root
    - group: root
    - mode: "0600"

mailserver-backup-config-cmd-run-check:
  cmd.run:
    - name: validate-borgmatic-config -c {{ backup.config_file }}
    - onchanges:
      - file: mailserver-backup-config-file-managed

mailserver-backup-config-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-backup-config-file-managed
{%- endif %}
