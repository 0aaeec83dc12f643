# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dns = mailserver.dns %}
{%- set bind = dns.bind %}
{%- if bind.enabled %}

include:
  - {{ tplroot }}.bind.package

mailserver-bind-config-file-directory-zones:
  file.directory:
    - names:
      - {{ bind.zone_dir }}
      - {{ bind.zone_dir }}/keys
    - user: bind
    - group: bind
    - mode: "0750"
    - require:
      - pkg: mailserver-bind-package-pkg-installed

mailserver-bind-config-file-managed:
  file.managed:
    - names:
      - {{ bind.config_file }}:
        - source: salt://{{ tplroot }}/bind/files/named.conf.jinja
      - {{ bind.options_file }}:
        - source: salt://{{ tplroot }}/bind/files/named.conf.options.jinja
      - {{ bind.zones_file }}:
        - source: salt://{{ tplroot }}/bind/files/named.conf.local.jinja
      # the root servers recursion starts from (Debian's hints unless pillar names others)
      - {{ bind.hints_file }}:
        - source: salt://{{ tplroot }}/bind/files/hints.jinja
    - template: jinja
    - context:
        dns: {{ dns | json }}
    - user: root
    - group: bind
    - mode: "0644"
    - require:
      - pkg: mailserver-bind-package-pkg-installed
{%- endif %}
