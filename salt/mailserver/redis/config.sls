# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set redis = mailserver.redis %}

include:
  - {{ tplroot }}.redis.package
  - {{ tplroot }}.rspamd.package
  - {{ tplroot }}.web.package

# the password (made here) and the files that carry it: Redis's settings, rspamd's client;
# and, when rspamd's web interface is on, its password and the hash nginx checks
mailserver-redis-config-secrets-present:
  mailserver_spam.secrets_present:
    - name: {{ redis.secret_file }}
    - require:
      - pkg: mailserver-redis-package-pkg-installed
      - pkg: mailserver-rspamd-package-pkg-installed
      - pkg: mailserver-web-package-pkg-installed

# Debian's redis.conf reads the formula's file last
mailserver-redis-config-file-append-include:
  file.append:
    - name: /etc/redis/redis.conf
    - text: include {{ redis.config_file }}
    - require:
      - pkg: mailserver-redis-package-pkg-installed

# Debian's unit may write only to /var/lib/redis: the store too
mailserver-redis-config-file-managed-dropin:
  file.managed:
    - name: /etc/systemd/system/{{ redis.service }}.service.d/mailserver.conf
    - source: salt://{{ tplroot }}/redis/files/dropin.conf.jinja
    - template: jinja
    - context:
        dir: {{ redis.dir }}
    - makedirs: true

mailserver-redis-config-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-redis-config-file-managed-dropin
