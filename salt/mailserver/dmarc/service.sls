# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.dmarc.config

mailserver-dmarc-service-running:
  service.running:
    - name: {{ mailserver.dmarc.service }}
    - enable: true
    - watch:
      - file: mailserver-dmarc-config-file-managed
