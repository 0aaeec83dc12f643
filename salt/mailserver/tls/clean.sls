# -*- coding: utf-8 -*-
# vim: ft=sls
# certbot's hook and drop-in go; the certificates and their keys are data and stay.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set acme = mailserver.tls.acme %}

mailserver-tls-clean-file-absent:
  file.absent:
    - names:
      - {{ acme.deploy_hook }}
      - /etc/systemd/system/certbot.service.d/mailserver.conf
