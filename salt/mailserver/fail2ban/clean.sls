# -*- coding: utf-8 -*-
# vim: ft=sls
# Removes the formula's jails; fail2ban itself stays with Debian's defaults.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-fail2ban-clean-file-absent-jails:
  file.absent:
    - name: {{ mailserver.fail2ban.config_file }}

mailserver-fail2ban-clean-file-absent-daemon:
  file.absent:
    - name: {{ mailserver.fail2ban.daemon_file }}
