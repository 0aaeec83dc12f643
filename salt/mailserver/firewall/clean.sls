# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

# ufw off, then gone (its rules with it)
mailserver-firewall-clean-cmd-run-disable:
  cmd.run:
    - name: ufw --force disable
    - onlyif: 'ufw status | grep -q "Status: active"'

mailserver-firewall-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ mailserver.firewall.pkgs | json }}
    - require:
      - cmd: mailserver-firewall-clean-cmd-run-disable
