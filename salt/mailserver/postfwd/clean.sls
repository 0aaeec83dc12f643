# -*- coding: utf-8 -*-
# vim: ft=sls
# postfwd and the watcher go; the senders' counters (in the store) stay.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set postfwd = mailserver.postfwd %}

mailserver-postfwd-clean-service-dead:
  service.dead:
    - names:
      - mailserver-limits
      - {{ postfwd.service }}
    - enable: false

mailserver-postfwd-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ postfwd.pkgs | json }}
    - require:
      - service: mailserver-postfwd-clean-service-dead

mailserver-postfwd-clean-file-absent:
  file.absent:
    - names:
      - {{ postfwd.config_file }}
      - /usr/local/sbin/mailserver-limits-watch
      - /etc/systemd/system/mailserver-limits.service
    - require:
      - pkg: mailserver-postfwd-clean-pkg-removed
