# -*- coding: utf-8 -*-
# vim: ft=sls
# The host's programs ask its own validating resolver, once it answers. Before the first
# switch, the resolv.conf the host had is kept aside (mailserver.clean puts it back).
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dns = mailserver.dns %}
{%- if dns.resolver.enabled %}

include:
  - {{ tplroot }}.bind.service

mailserver-bind-resolver-file-copy-original:
  file.copy:
    - name: {{ dns.bind.resolv_conf_saved }}
    - source: {{ dns.bind.resolv_conf }}
    - force: false
    - makedirs: true
    - unless: grep -q "Managed by Salt (mailserver formula)" {{ dns.bind.resolv_conf }}

mailserver-bind-resolver-cmd-run-answers:
  cmd.run:
    - name: "dig +time=2 +tries=5 @127.0.0.1 . NS | grep -q 'status: NOERROR'"
    - prereq:
      - file: mailserver-bind-resolver-file-managed
    - require:
      - service: mailserver-bind-service-running

mailserver-bind-resolver-file-managed:
  file.managed:
    - name: {{ dns.bind.resolv_conf }}
    - source: salt://{{ tplroot }}/bind/files/resolv.conf.jinja
    - template: jinja
    - context:
        nameservers: {{ dns.nameservers | json }}
    - follow_symlinks: false
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - service: mailserver-bind-service-running
      - file: mailserver-bind-resolver-file-copy-original
{%- endif %}
