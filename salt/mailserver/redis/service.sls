# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set redis = mailserver.redis %}

include:
  - {{ tplroot }}.redis.config
  - {{ tplroot }}.store

mailserver-redis-service-file-directory:
  file.directory:
    - name: {{ redis.dir }}
    - user: {{ redis.user }}
    - group: {{ redis.user }}
    - mode: "0750"
    - require:
      - mailserver_store: mailserver-store-service-unlocked
      - pkg: mailserver-redis-package-pkg-installed

mailserver-redis-service-running:
  service.running:
    - name: {{ redis.service }}
    - enable: true
    - require:
      # it keeps its data in the store: never on the bare mount point
      - mailserver_store: mailserver-store-service-unlocked
      - file: mailserver-redis-service-file-directory
      - cmd: mailserver-redis-config-cmd-run-daemon-reload
    - watch:
      - mailserver_spam: mailserver-redis-config-secrets-present
      - file: mailserver-redis-config-file-append-include
      - file: mailserver-redis-config-file-managed-dropin
