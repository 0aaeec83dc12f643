# -*- coding: utf-8 -*-
# vim: ft=sls
# Postgrey goes; its triplets (in the store) stay.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set postgrey = mailserver.postgrey %}

mailserver-postgrey-clean-service-dead:
  service.dead:
    - name: {{ postgrey.service }}
    - enable: false

mailserver-postgrey-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ postgrey.pkgs | json }}
    - require:
      - service: mailserver-postgrey-clean-service-dead

mailserver-postgrey-clean-file-absent:
  file.absent:
    - names:
      - {{ postgrey.clients_file }}
      - {{ postgrey.recipients_file }}
    - require:
      - pkg: mailserver-postgrey-clean-pkg-removed
