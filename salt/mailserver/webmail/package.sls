# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set webmail = mailserver.webmail %}

include:
  # the settings snapshot of this run, before anything else
  - {{ tplroot }}.base

# PHP-FPM first: Roundcube's dependency on "php" then takes it, not Apache's PHP module
mailserver-webmail-package-pkg-installed-fpm:
  pkg.installed:
    - name: {{ webmail.service }}
    - install_recommends: false

# without Recommends: they would bring a second web server
mailserver-webmail-package-pkg-installed:
  pkg.installed:
    - pkgs: {{ webmail.all_pkgs | json }}
    - install_recommends: false
    - require:
      - pkg: mailserver-webmail-package-pkg-installed-fpm
