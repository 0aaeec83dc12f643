# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.base
{%- if mailserver.backup.enabled %}

# (Debian's postinst enables borgmatic.timer; its service does nothing without a config)
mailserver-backup-package-pkg-installed:
  pkg.installed:
    - pkgs: {{ mailserver.backup.pkgs | json }}
{%- endif %}
