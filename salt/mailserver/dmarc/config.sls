# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.dmarc.package
  - {{ tplroot }}.dkim.config

mailserver-dmarc-config-file-managed:
  file.managed:
    - name: {{ mailserver.dmarc.config_file }}
    - source: salt://{{ tplroot }}/dmarc/files/opendmarc.conf.jinja
    - template: jinja
    - context:
        dmarc: {{ mailserver.dmarc | json }}
        hostname: {{ mailserver.hostname }}
        trusted_hosts: {{ mailserver.dkim.dir }}/trusted.hosts
    - user: root
    - group: root
    - mode: "0644"
    # OpenDMARC checks the file before it replaces the old one
    - check_cmd: /usr/sbin/opendmarc -n -c
    - require:
      - pkg: mailserver-dmarc-package-pkg-installed
      - file: mailserver-dkim-config-file-managed-trusted-hosts
