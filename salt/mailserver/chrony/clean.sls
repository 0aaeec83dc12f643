# -*- coding: utf-8 -*-
# vim: ft=sls
# Chrony goes (its Debian configuration files stay, as dpkg leaves them).
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set chrony = mailserver.chrony %}

mailserver-chrony-clean-service-dead:
  service.dead:
    - name: {{ chrony.service }}
    - enable: false

mailserver-chrony-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ chrony.pkgs | json }}
    - require:
      - service: mailserver-chrony-clean-service-dead

mailserver-chrony-clean-file-absent:
  file.absent:
    - name: /etc/systemd/system/{{ chrony.service }}.service.d/mailserver.conf
    - require:
      - pkg: mailserver-chrony-clean-pkg-removed
