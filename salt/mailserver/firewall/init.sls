# -*- coding: utf-8 -*-
# vim: ft=sls
# ufw: default deny incoming on IPv4 and IPv6; exactly the formula's public services (SSH and
# the mail ports from the map) and the Salt master's connections let in. SSH is allowed
# before ufw is enabled.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-firewall-pkg-installed:
  pkg.installed:
    - pkgs: {{ mailserver.firewall.pkgs | json }}

mailserver-firewall-enabled:
  mailserver_firewall.enabled:
    - name: ufw
    - settings: {{ mailserver | json }}
    - require:
      - pkg: mailserver-firewall-pkg-installed
