# -*- coding: utf-8 -*-
# vim: ft=sls
# rspamd and the formula's settings go; what it learned (in Redis, in the store) stays.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set rspamd = mailserver.rspamd %}

mailserver-rspamd-clean-service-dead:
  service.dead:
    - name: {{ rspamd.service }}
    - enable: false

mailserver-rspamd-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ rspamd.pkgs | json }}
    - require:
      - service: mailserver-rspamd-clean-service-dead

mailserver-rspamd-clean-file-absent:
  file.absent:
    - names:
      - {{ rspamd.local_dir }}
      - {{ rspamd.web_htpasswd_file }}
    - require:
      - pkg: mailserver-rspamd-clean-pkg-removed
