# -*- coding: utf-8 -*-
# vim: ft=sls
# nginx, the formula's site and the MTA-STS policy go.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set web = mailserver.web %}

mailserver-web-clean-service-dead:
  service.dead:
    - name: {{ web.service }}
    - enable: false

mailserver-web-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ web.pkgs | json }}
    - require:
      - service: mailserver-web-clean-service-dead

mailserver-web-clean-file-absent:
  file.absent:
    - names:
      - {{ web.enabled_file }}
      - {{ web.config_file }}
      - {{ web.root }}
    - require:
      - pkg: mailserver-web-clean-pkg-removed
