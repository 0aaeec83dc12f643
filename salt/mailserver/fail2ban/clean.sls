# -*- coding: utf-8 -*-
# vim: ft=sls
# fail2ban and the formula's jails go.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set f2b = mailserver.fail2ban %}

mailserver-fail2ban-clean-service-dead:
  service.dead:
    - name: {{ f2b.service }}
    - enable: false

mailserver-fail2ban-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ f2b.pkgs | json }}
    - require:
      - service: mailserver-fail2ban-clean-service-dead

mailserver-fail2ban-clean-file-absent:
  file.absent:
    - names:
      - {{ f2b.config_file }}
      - {{ f2b.daemon_file }}
    - require:
      - pkg: mailserver-fail2ban-clean-pkg-removed
