# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.dkim.config
  - {{ tplroot }}.store

mailserver-dkim-service-running:
  service.running:
    - name: {{ mailserver.dkim.service }}
    - enable: true
    - require:
      # it uses the store: never on the bare mount point
      - mailserver_store: mailserver-store-service-unlocked
    - watch:
      - file: mailserver-dkim-config-file-managed
      - file: mailserver-dkim-config-file-managed-tables
      - file: mailserver-dkim-config-file-managed-trusted-hosts
