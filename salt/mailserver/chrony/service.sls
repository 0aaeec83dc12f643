# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.chrony.config

mailserver-chrony-service-running:
  service.running:
    - name: {{ mailserver.chrony.service }}
    - enable: true
    - require:
      - cmd: mailserver-chrony-config-cmd-run-daemon-reload
    - watch:
      - file: mailserver-chrony-config-file-managed
      - file: mailserver-chrony-config-file-dropin
