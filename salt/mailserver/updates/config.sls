# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set updates = mailserver.updates %}

include:
  - {{ tplroot }}.updates.package

mailserver-updates-config-file-managed:
  file.managed:
    - names:
      - /etc/apt/apt.conf.d/10periodic:
        - source: salt://{{ tplroot }}/updates/files/10periodic.jinja
      - /etc/apt/apt.conf.d/51mailserver-unattended-upgrades:
        - source: salt://{{ tplroot }}/updates/files/51unattended-upgrades.jinja
    - template: jinja
    - context:
        updates: {{ updates | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-updates-package-pkg-installed
{%- set guard = updates.guard %}

# the upgrade guard: the probe mailbox's password (made here) and the hook after each run
# of unattended-upgrades (apt-daily-upgrade.service)
{%- if guard.probe %}

mailserver-updates-config-guard-secrets-present:
  mailserver_guard.secrets_present:
    - name: {{ guard.secret_file }}
{%- endif %}

mailserver-updates-config-file-guard-dropin:
{%- if guard.enabled %}
  file.managed:
    - name: {{ guard.dropin_file }}
    - source: salt://{{ tplroot }}/updates/files/guard.conf.jinja
    - template: jinja
    - context:
        guard: {{ guard | json }}
    - makedirs: true
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-updates-package-pkg-installed
{%- else %}
  file.absent:
    - name: {{ guard.dropin_file }}
{%- endif %}

mailserver-updates-config-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-updates-config-file-guard-dropin
{%- if salt["mailserver_host.reboot_required"]() %}

mailserver-updates-config-reboot-pending:
  test.show_notification:
    - text: >-
        An update asked for a reboot (/run/reboot-required). Reboot when you can unlock the
        mail store afterwards: salt-run mailserver.unlock {{ grains["id"] }}
{%- endif %}
