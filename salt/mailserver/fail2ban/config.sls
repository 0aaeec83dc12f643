# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set f2b = mailserver.fail2ban %}

include:
  - {{ tplroot }}.fail2ban.package

mailserver-fail2ban-config-file-managed:
  file.managed:
    - names:
      - {{ f2b.config_file }}:
        - source: salt://{{ tplroot }}/fail2ban/files/jails.local.jinja
      # say what Debian's file leaves implicit (fail2ban warns about it at every start)
      - {{ f2b.daemon_file }}:
        - source: salt://{{ tplroot }}/fail2ban/files/fail2ban.local.jinja
    - template: jinja
    - context:
        f2b: {{ f2b | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-fail2ban-package-pkg-installed
