# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set bind = mailserver.dns.bind %}
{%- if bind.enabled %}

include:
  - {{ tplroot }}.bind.config

# the whole configuration must pass before BIND is reloaded with it (checked on every run
# until it passes: a failed check is never forgotten)
mailserver-bind-service-cmd-run-check:
  cmd.run:
    - name: named-checkconf {{ bind.config_file }}
    - unless: named-checkconf {{ bind.config_file }}
    - require:
      - file: mailserver-bind-config-file-managed

mailserver-bind-service-running:
  service.running:
    - name: {{ bind.service }}
    - enable: true
    - reload: true
    - require:
      - cmd: mailserver-bind-service-cmd-run-check
      - file: mailserver-bind-config-file-directory-zones
    - watch:
      - file: mailserver-bind-config-file-managed
{%- endif %}
