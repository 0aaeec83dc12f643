# -*- coding: utf-8 -*-
# vim: ft=sls
# Redis goes; its data (in the store) stays, and so does the password file.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set redis = mailserver.redis %}

mailserver-redis-clean-service-dead:
  service.dead:
    - name: {{ redis.service }}
    - enable: false

mailserver-redis-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ redis.pkgs | json }}
    - require:
      - service: mailserver-redis-clean-service-dead

mailserver-redis-clean-file-absent:
  file.absent:
    - names:
      - {{ redis.config_file }}
      - /etc/systemd/system/{{ redis.service }}.service.d/mailserver.conf
    - require:
      - pkg: mailserver-redis-clean-pkg-removed

# Debian's redis.conf stays after a remove: without the line that reads the formula's file
mailserver-redis-clean-file-replace-include:
  file.replace:
    - name: /etc/redis/redis.conf
    - pattern: '^include {{ redis.config_file }}\n'
    - repl: ''
    - ignore_if_missing: true
    - require:
      - pkg: mailserver-redis-clean-pkg-removed
