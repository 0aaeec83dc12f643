# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-mariadb-package-pkg-installed:
  pkg.installed:
    - pkgs: {{ mailserver.mariadb.pkgs | json }}
