# -*- coding: utf-8 -*-
# vim: ft=sls
# Roundcube, the guide's webmail, on PHP-FPM behind nginx (the site is the web state's). Its
# data lives in the encrypted store; with webmail:enabled false it is removed.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
include:
{%- if mailserver.webmail.enabled %}
  - .package
  - .config
  - .service
{%- else %}
  - .clean
{%- endif %}
