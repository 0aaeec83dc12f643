# -*- coding: utf-8 -*-
# vim: ft=sls
# BIND goes, after the host's resolv.conf from before the formula is put back (a host must
# not be left asking a resolver that is gone). The zone files and DNSSEC keys are data and
# stay; Debian's configuration files stay, as dpkg leaves them.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set bind = mailserver.dns.bind %}

mailserver-bind-clean-file-copy-resolv-conf:
  file.copy:
    - name: {{ bind.resolv_conf }}
    - source: {{ bind.resolv_conf_saved }}
    - force: true
    - onlyif: test -f {{ bind.resolv_conf_saved }}

mailserver-bind-clean-service-dead:
  service.dead:
    - name: {{ bind.service }}
    - enable: false
    - require:
      - file: mailserver-bind-clean-file-copy-resolv-conf

mailserver-bind-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ bind.pkgs | json }}
    - require:
      - service: mailserver-bind-clean-service-dead

mailserver-bind-clean-file-absent:
  file.absent:
    - names:
      - {{ bind.hints_file }}
      - {{ bind.resolv_conf_saved }}
    - require:
      - pkg: mailserver-bind-clean-pkg-removed
