# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.fail2ban.config

# the whole configuration must load before fail2ban is reloaded with it (checked on every
# run until it passes: a failed check is never forgotten)
mailserver-fail2ban-service-cmd-run-check:
  cmd.run:
    - name: fail2ban-client --test
    - unless: fail2ban-client --test
    - require:
      - file: mailserver-fail2ban-config-file-managed

mailserver-fail2ban-service-running:
  service.running:
    - name: {{ mailserver.fail2ban.service }}
    - enable: true
    - reload: true
    - require:
      - cmd: mailserver-fail2ban-service-cmd-run-check
    - watch:
      - file: mailserver-fail2ban-config-file-managed
