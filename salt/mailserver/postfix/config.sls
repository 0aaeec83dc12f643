# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set postfix = mailserver.postfix %}

include:
  - {{ tplroot }}.postfix.package
  - {{ tplroot }}.tls
  - {{ tplroot }}.mariadb.database

{%- for file in ("main.cf", "master.cf") %}

mailserver-postfix-config-file-managed-{{ file }}:
  file.managed:
    - name: {{ postfix.config_dir }}/{{ file }}
    - source: salt://{{ tplroot }}/postfix/files/{{ file }}.jinja
    - template: jinja
    - context:
        mailserver: {{ mailserver | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-postfix-package-pkg-installed
{%- endfor %}

# `postfix check` must pass before Postfix is reloaded with the new configuration.
mailserver-postfix-config-cmd-run-check:
  cmd.run:
    - name: postfix check
    - onchanges:
      - file: mailserver-postfix-config-file-managed-main.cf
      - file: mailserver-postfix-config-file-managed-master.cf
      - mailserver_db: mailserver-mariadb-database-reader-present
    - require:
      - mailserver_db: mailserver-mariadb-database-reader-present
