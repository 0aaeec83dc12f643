# -*- coding: utf-8 -*-
# vim: ft=sls
# OpenDKIM (as in the guide): keys made on the minion (never in pillar, never leaving the
# host; the mine publishes the public half), mail of our domains signed when it comes from
# an authenticated user or from this host, inbound mail verified.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dkim = mailserver.dkim %}
{%- set domains = mailserver.accounts.domains %}

include:
  - {{ tplroot }}.store

mailserver-dkim-pkg-installed:
  pkg.installed:
    - pkgs: {{ dkim.pkgs | json }}

mailserver-dkim-keys-present:
  mailserver_dkim.keys_present:
    - name: {{ dkim.key_dir }}
    - domains: {{ domains | json }}
    - bits: {{ dkim.bits }}
    - rotate_after_days: {{ dkim.rotate_after_days }}
    - retire_after_days: {{ dkim.retire_after_days }}
    - require:
      - pkg: mailserver-dkim-pkg-installed

{#- The tables name the active selector of each domain: rendered by the module at apply
    time (after the keys exist), not while this file renders. #}
mailserver-dkim-file-managed-tables:
  file.managed:
    - names:
      - {{ dkim.dir }}/key.table:
        - source: salt://{{ tplroot }}/dkim/files/table.jinja
        - context:
            table: key_table
      - {{ dkim.dir }}/signing.table:
        - source: salt://{{ tplroot }}/dkim/files/table.jinja
        - context:
            table: signing_table
    - template: jinja
    - defaults:
        domains: {{ domains | json }}
        key_dir: {{ dkim.key_dir }}
    - user: root
    - group: {{ dkim.service }}
    - mode: "0640"
    - require:
      - mailserver_dkim: mailserver-dkim-keys-present

mailserver-dkim-file-managed-trusted-hosts:
  file.managed:
    - name: {{ dkim.dir }}/trusted.hosts
    - contents: |
        # Managed by Salt (mailserver formula): mail from here is signed, not verified
        127.0.0.1
        ::1
        localhost
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-dkim-pkg-installed

mailserver-dkim-file-managed-config:
  file.managed:
    - name: {{ dkim.config_file }}
    - source: salt://{{ tplroot }}/dkim/files/opendkim.conf.jinja
    - template: jinja
    - context:
        mailserver: {{ mailserver | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-dkim-pkg-installed

mailserver-dkim-service-running:
  service.running:
    - name: {{ dkim.service }}
    - enable: true
    - watch:
      - file: mailserver-dkim-file-managed-config
      - file: mailserver-dkim-file-managed-tables
      - file: mailserver-dkim-file-managed-trusted-hosts
    - require:
      - mailserver_store: mailserver-store-unlocked

# the master learns new public keys at once (DNS is built from the mine)
mailserver-dkim-module-run-mine-update:
  module.run:
    - mine.update: []
    - onchanges:
      - mailserver_dkim: mailserver-dkim-keys-present
