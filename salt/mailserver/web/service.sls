# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.web.config
  - {{ tplroot }}.tls

# the whole configuration must pass before nginx is reloaded with it (checked on every run
# until it passes: a failed check is never forgotten)
mailserver-web-service-cmd-run-check:
  cmd.run:
    - name: nginx -t -q
    - unless: nginx -t -q
    - require:
      - file: mailserver-web-config-file-managed-site
      - file: mailserver-web-config-file-symlink-site
      - file: mailserver-web-config-file-absent-default-site
      - sls: {{ tplroot }}.tls

mailserver-web-service-running:
  service.running:
    - name: {{ mailserver.web.service }}
    - enable: true
    - reload: true
    - require:
      - cmd: mailserver-web-service-cmd-run-check
    - watch:
      - file: mailserver-web-config-file-managed-site
      - file: mailserver-web-config-file-symlink-site
      - file: mailserver-web-config-file-absent-default-site
      - sls: {{ tplroot }}.tls
