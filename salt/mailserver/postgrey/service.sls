# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set postgrey = mailserver.postgrey %}

include:
  - {{ tplroot }}.postgrey.config
  - {{ tplroot }}.store

mailserver-postgrey-service-file-directory:
  file.directory:
    - name: {{ postgrey.dbdir }}
    - user: {{ postgrey.user }}
    - group: {{ postgrey.user }}
    - mode: "0750"
    - require:
      - mailserver_store: mailserver-store-service-unlocked
      - pkg: mailserver-postgrey-package-pkg-installed

mailserver-postgrey-service-running:
  service.running:
    - name: {{ postgrey.service }}
    - enable: true
    - require:
      # its triplets are kept in the store: never on the bare mount point
      - mailserver_store: mailserver-store-service-unlocked
      - file: mailserver-postgrey-service-file-directory
    - watch:
      - file: mailserver-postgrey-config-file-managed
