# -*- coding: utf-8 -*-
# vim: ft=sls
# Removes the formula's site and the MTA-STS policy; nginx itself stays.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set web = mailserver.web %}

mailserver-web-clean-file-absent-site-link:
  file.absent:
    - name: {{ web.enabled_file }}

mailserver-web-clean-file-absent-site:
  file.absent:
    - name: {{ web.config_file }}

mailserver-web-clean-file-absent-root:
  file.absent:
    - name: {{ web.root }}

mailserver-web-clean-service-reload:
  cmd.run:
    - name: systemctl reload-or-restart {{ web.service }}
    - onlyif: systemctl is-active --quiet {{ web.service }}
    - onchanges:
      - file: mailserver-web-clean-file-absent-site-link
