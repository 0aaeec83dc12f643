# -*- coding: utf-8 -*-
# vim: ft=sls
# OpenDMARC goes (its Debian configuration file stays, as dpkg leaves it).
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dmarc = mailserver.dmarc %}

mailserver-dmarc-clean-service-dead:
  service.dead:
    - name: {{ dmarc.service }}
    - enable: false

mailserver-dmarc-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ dmarc.pkgs | json }}
    - require:
      - service: mailserver-dmarc-clean-service-dead
