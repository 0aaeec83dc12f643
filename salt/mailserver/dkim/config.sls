# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dkim = mailserver.dkim %}
{%- set domains = mailserver.accounts.domains %}

include:
  - {{ tplroot }}.dkim.package

mailserver-dkim-config-keys-present:
  mailserver_dkim.keys_present:
    - name: {{ dkim.key_dir }}
    - domains: {{ domains | json }}
    - bits: {{ dkim.bits }}
    - rotate_after_days: {{ dkim.rotate_after_days }}
    - retire_after_days: {{ dkim.retire_after_days }}
    - user: {{ dkim.user }}
    - require:
      - pkg: mailserver-dkim-package-pkg-installed

{#- The tables name the active selector of each domain: rendered at apply time (after the
    keys exist), not while this file renders. #}
mailserver-dkim-config-file-managed-tables:
  file.managed:
    - names:
      - {{ dkim.dir }}/key.table:
        - context:
            table: key_table
      - {{ dkim.dir }}/signing.table:
        - context:
            table: signing_table
    - source: salt://{{ tplroot }}/dkim/files/table.jinja
    - template: jinja
    - defaults:
        domains: {{ domains | json }}
        key_dir: {{ dkim.key_dir }}
    - user: root
    - group: {{ dkim.user }}
    - mode: "0640"
    - require:
      - mailserver_dkim: mailserver-dkim-config-keys-present

mailserver-dkim-config-file-managed-trusted-hosts:
  file.managed:
    - name: {{ dkim.dir }}/trusted.hosts
    - source: salt://{{ tplroot }}/dkim/files/trusted.hosts.jinja
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-dkim-package-pkg-installed

mailserver-dkim-config-file-managed:
  file.managed:
    - name: {{ dkim.config_file }}
    - source: salt://{{ tplroot }}/dkim/files/opendkim.conf.jinja
    - template: jinja
    - context:
        dkim: {{ dkim | json }}
        hostname: {{ mailserver.hostname }}
        nameservers: {{ mailserver.dns.nameservers | json }}
    - user: root
    - group: root
    - mode: "0644"
    # OpenDKIM checks the file (and the tables it names) before it replaces the old one
    - check_cmd: /usr/sbin/opendkim -n -x
    - require:
      - file: mailserver-dkim-config-file-managed-tables
      - file: mailserver-dkim-config-file-managed-trusted-hosts

# the master learns new public keys at once (DNS is built from the mine)
mailserver-dkim-config-module-run-mine-update:
  module.run:
    - mine.update: []
    - onchanges:
      - mailserver_dkim: mailserver-dkim-config-keys-present
