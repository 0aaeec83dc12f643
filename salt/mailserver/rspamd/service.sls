# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set rspamd = mailserver.rspamd %}

include:
  - {{ tplroot }}.rspamd.config
  - {{ tplroot }}.redis.service
  - {{ tplroot }}.store

# the whole configuration must pass before rspamd is reloaded with it (checked on every run
# until it passes: a failed check is never forgotten)
mailserver-rspamd-service-cmd-run-check:
  cmd.run:
    - name: rspamadm configtest
    - unless: rspamadm configtest
    - require:
      - file: mailserver-rspamd-config-file-managed
      - mailserver_spam: mailserver-redis-config-secrets-present

mailserver-rspamd-service-running:
  service.running:
    - name: {{ rspamd.service }}
    - enable: true
    - reload: true
    - require:
      # what it learns is kept in Redis, inside the store: only once the store is unlocked
      - mailserver_store: mailserver-store-service-unlocked
      - cmd: mailserver-rspamd-service-cmd-run-check
      - service: mailserver-redis-service-running
    - watch:
      - file: mailserver-rspamd-config-file-managed
      - mailserver_spam: mailserver-redis-config-secrets-present

# rspamd answers only once its rules are compiled (seconds; longer at the first start):
# until then Postfix would tell senders to come back later
mailserver-rspamd-service-http-ready:
  http.wait_for_successful_query:
    - name: http://127.0.0.1:{{ rspamd.controller_port }}/ping
    - match: pong
    - status: 200
    # a test run asks once (Salt's query only says what it would ask: waiting is pointless)
    - wait_for: {{ 0 if opts.get("test") else 180 }}
    - request_interval: 1
    - require:
      - service: mailserver-rspamd-service-running
