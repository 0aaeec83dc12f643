# -*- coding: utf-8 -*-
# vim: ft=sls
# BIND 9: the host's own validating resolver (for Postfix, OpenDKIM, OpenDMARC and Salt;
# nobody else may recurse through it) and, when pillar turns it on, the DNSSEC-signed
# authoritative server of the mail domains and of the host's reverse names.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dns = mailserver.dns %}
{%- set bind = dns.bind %}
{%- set zones = salt["mailserver_bind.served"](mailserver) %}
{%- if dns.resolver.enabled or zones %}

include:
  - {{ tplroot }}.firewall
  - {{ tplroot }}.tls
  - {{ tplroot }}.dkim

mailserver-bind-pkg-installed:
  pkg.installed:
    - pkgs: {{ bind.pkgs | json }}

mailserver-bind-file-directory-zones:
  file.directory:
    - names:
      - {{ bind.zone_dir }}
      - {{ bind.zone_dir }}/keys
    - user: bind
    - group: bind
    - mode: "0750"
    - require:
      - pkg: mailserver-bind-pkg-installed

{%-   if dns.resolver.root_hints %}

mailserver-bind-file-managed-hints:
  file.managed:
    - name: {{ bind.hints_file }}
    - contents: {{ salt["mailserver_bind.root_hints"](mailserver) | json }}
    - require:
      - pkg: mailserver-bind-pkg-installed
    - watch_in:
      - service: mailserver-bind-service-running
{%-   endif %}

{%-   set acme = mailserver.tls.acme.enabled %}
{%-   for zone in zones %}

mailserver-bind-zone-{{ zone }}:
  mailserver_bind.zone:
    - name: {{ zone }}
    - zone_file: {{ bind.zone_dir }}/{{ zone }}.zone
    - settings: {{ mailserver | json }}
    - require:
      - file: mailserver-bind-file-directory-zones
      # the records name the DKIM keys made in this run and the certificate's key (TLSA)
      - sls: {{ tplroot }}.dkim
{%-     if acme %}
    # the CA checks names these zones serve: they come first, never wait for it
    - require_in:
      - mailserver_acme: mailserver-tls-acme-certificate
{%-     else %}
      - sls: {{ tplroot }}.tls
{%-     endif %}
    - watch_in:
      - service: mailserver-bind-service-running
{%-     if acme %}

# a certificate with a new key (the first one from the CA): its TLSA record, at once
mailserver-bind-zone-{{ zone }}-certificate:
  mailserver_bind.zone:
    - name: {{ zone }}
    - zone_file: {{ bind.zone_dir }}/{{ zone }}.zone
    - settings: {{ mailserver | json }}
    - onchanges:
      - mailserver_acme: mailserver-tls-acme-certificate
    - watch_in:
      - service: mailserver-bind-service-running
{%-     endif %}
{%-   endfor %}

mailserver-bind-file-managed-config:
  file.managed:
    - names:
      - {{ bind.config_file }}:
        - source: salt://{{ tplroot }}/bind/files/named.conf.jinja
      - {{ bind.options_file }}:
        - source: salt://{{ tplroot }}/bind/files/named.conf.options.jinja
      - {{ bind.zones_file }}:
        - source: salt://{{ tplroot }}/bind/files/named.conf.local.jinja
    - template: jinja
    - context:
        dns: {{ dns | json }}
        zones: {{ zones | json }}
        empty_zones: {{ salt["mailserver_bind.own_empty_zones"](mailserver) | json }}
    - user: root
    - group: bind
    - mode: "0644"
    - require:
      - pkg: mailserver-bind-pkg-installed

# a configuration named refuses never reaches the running server (checked until it passes)
mailserver-bind-cmd-run-checkconf:
  cmd.run:
    - name: named-checkconf {{ bind.config_file }}
    - unless: named-checkconf {{ bind.config_file }}
    - require:
      - file: mailserver-bind-file-managed-config

mailserver-bind-service-running:
  service.running:
    - name: {{ bind.service }}
    - enable: true
    - reload: true
    - require:
      - cmd: mailserver-bind-cmd-run-checkconf
    - watch:
      - file: mailserver-bind-file-managed-config
{%-   if dns.resolver.enabled %}

# the host's programs ask its own resolver; before they do, it must answer
mailserver-bind-cmd-run-resolver-answers:
  cmd.run:
    - name: "dig +time=2 +tries=5 @127.0.0.1 . NS | grep -q 'status: NOERROR'"
    - prereq:
      - file: mailserver-bind-file-managed-resolv-conf
    - require:
      - service: mailserver-bind-service-running

mailserver-bind-file-managed-resolv-conf:
  file.managed:
    - name: {{ bind.resolv_conf }}
    - follow_symlinks: false
    - contents: |
        # Managed by Salt (mailserver formula): the host's own validating resolver (BIND).
        # trust-ad: the resolver is local, so its DNSSEC verdicts (the AD bit) are believed
{%-     for ns in dns.nameservers %}
        nameserver {{ ns }}
{%-     endfor %}
        options edns0 trust-ad
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - service: mailserver-bind-service-running

# Postfix's chrooted daemons read a copy of resolv.conf that Debian makes when Postfix
# starts; a running Postfix gets the new one, and its daemons are restarted to read it
mailserver-bind-file-managed-postfix-resolv-conf:
  file.managed:
    - name: /var/spool/postfix/etc/resolv.conf
    - source: {{ bind.resolv_conf }}
    - onlyif: test -d /var/spool/postfix/etc
    - require:
      - file: mailserver-bind-file-managed-resolv-conf

mailserver-bind-cmd-run-postfix-reload:
  cmd.run:
    - name: postfix reload
    - onlyif: postfix status
    - onchanges:
      - file: mailserver-bind-file-managed-postfix-resolv-conf
{%-   endif %}
{%- endif %}
