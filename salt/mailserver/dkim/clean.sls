# -*- coding: utf-8 -*-
# vim: ft=sls
# OpenDKIM and the formula's tables go (its Debian configuration file stays, as dpkg leaves
# it; `apt purge` removes it); the keys are data (published in DNS) and stay.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dkim = mailserver.dkim %}

mailserver-dkim-clean-service-dead:
  service.dead:
    - name: {{ dkim.service }}
    - enable: false

mailserver-dkim-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ dkim.pkgs | json }}
    - require:
      - service: mailserver-dkim-clean-service-dead

mailserver-dkim-clean-file-absent:
  file.absent:
    - names:
      - {{ dkim.dir }}/key.table
      - {{ dkim.dir }}/signing.table
      - {{ dkim.dir }}/trusted.hosts
    - require:
      - pkg: mailserver-dkim-clean-pkg-removed
