# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set postfix = mailserver.postfix %}

include:
  - {{ tplroot }}.postfix.package
  - {{ tplroot }}.tls
  - {{ tplroot }}.mariadb.database

mailserver-postfix-config-file-managed:
  file.managed:
    - names:
      - {{ postfix.config_dir }}/main.cf:
        - source: salt://{{ tplroot }}/postfix/files/main.cf.jinja
      - {{ postfix.config_dir }}/master.cf:
        - source: salt://{{ tplroot }}/postfix/files/master.cf.jinja
      - {{ postfix.config_dir }}/reject_footer.regexp:
        - source: salt://{{ tplroot }}/postfix/files/reject_footer.regexp.jinja
    - template: jinja
    - context:
        mailserver: {{ mailserver | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-postfix-package-pkg-installed

# Postfix's chrooted daemons read a copy of resolv.conf that Debian makes when Postfix
# starts; it follows the host's (the resolver's switch to BIND), and a reload reads it
mailserver-postfix-config-file-managed-chroot-resolv-conf:
  file.managed:
    - name: {{ postfix.chroot_dir }}/etc/resolv.conf
    - source: {{ mailserver.dns.bind.resolv_conf }}
    - onlyif: test -d {{ postfix.chroot_dir }}/etc
    - require:
      - pkg: mailserver-postfix-package-pkg-installed
