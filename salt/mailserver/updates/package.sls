# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  # the settings snapshot of this run, before anything else
  - {{ tplroot }}.base

mailserver-updates-package-pkg-installed:
  pkg.installed:
    - pkgs: {{ (mailserver.updates.pkgs + mailserver.updates.guard.all_pkgs) | json }}
