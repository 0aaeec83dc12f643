# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.base

mailserver-postfix-package-pkg-installed:
  pkg.installed:
    - pkgs: {{ mailserver.postfix.pkgs | json }}
    - require:
      # Debian's postinst reads /etc/mailname
      - file: mailserver-base-config-file-managed-mailname
