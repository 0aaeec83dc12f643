# -*- coding: utf-8 -*-
# vim: ft=sls
# The signed zones of the mail domains (every record of mailserver_dns.records), written when
# the states run: the DKIM keys and the certificate made earlier in the run are in them.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dns = mailserver.dns %}
{%- if dns.zones %}
{%-   set acme = mailserver.tls.source == "acme" %}

include:
  - {{ tplroot }}.bind.service
  - {{ tplroot }}.dkim.config
  - {{ tplroot }}.tls

mailserver-bind-zones-written:
  mailserver_bind.zones_written:
    - name: {{ dns.bind.zone_dir }}
    - require:
      - file: mailserver-bind-config-file-directory-zones
      # the records name the DKIM keys made in this run and the certificate's key (TLSA)
      - mailserver_dkim: mailserver-dkim-config-keys-present
{%-   if acme %}
    # the CA checks names these zones serve: they come first, never wait for it
    - require_in:
      - mailserver_acme: mailserver-tls-acme-certificate
{%-   else %}
      - sls: {{ tplroot }}.tls
{%-   endif %}
    - watch_in:
      - service: mailserver-bind-service-running
{%-   if acme %}

# a certificate with a new key (the first one from the CA): its TLSA record, at once
mailserver-bind-zones-written-certificate:
  mailserver_bind.zones_written:
    - name: {{ dns.bind.zone_dir }}
    - onchanges:
      - mailserver_acme: mailserver-tls-acme-certificate
    - watch_in:
      - service: mailserver-bind-service-running
{%-   endif %}
{%- endif %}
