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
{%- if salt["mailserver_host.reboot_required"]() %}

mailserver-updates-config-reboot-pending:
  test.show_notification:
    - text: >-
        An update asked for a reboot (/run/reboot-required). Reboot when you can unlock the
        mail store afterwards: salt-run mailserver.unlock {{ grains["id"] }}
{%- endif %}
