# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-ssh-package-pkg-installed:
  pkg.installed:
    - pkgs: {{ mailserver.ssh.pkgs | json }}
