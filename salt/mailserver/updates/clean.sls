# -*- coding: utf-8 -*-
# vim: ft=sls
# The formula's APT settings and the upgrade guard's hook go; unattended-upgrades stays
# (security updates are Debian's default too), and so do the secrets made on the host.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-updates-clean-file-absent:
  file.absent:
    - names:
      - /etc/apt/apt.conf.d/10periodic
      - /etc/apt/apt.conf.d/51mailserver-unattended-upgrades
      - {{ mailserver.updates.guard.dropin_file }}
      - {{ mailserver.updates.guard.result_file }}

mailserver-updates-clean-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-updates-clean-file-absent
