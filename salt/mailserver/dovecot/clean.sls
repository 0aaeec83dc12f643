# -*- coding: utf-8 -*-
# vim: ft=sls
# Dovecot and the formula's files go; the mail (in the store) stays; Debian's configuration
# files stay, as dpkg leaves them.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dovecot = mailserver.dovecot %}

mailserver-dovecot-clean-service-dead:
  service.dead:
    - name: {{ dovecot.service }}
    - enable: false

mailserver-dovecot-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ dovecot.pkgs | json }}
    - require:
      - service: mailserver-dovecot-clean-service-dead

mailserver-dovecot-clean-file-absent:
  file.absent:
    - names:
      - {{ dovecot.sql_file }}
      - {{ dovecot.tmpfiles_file }}
      - {{ dovecot.sieve_dir }}
      - {{ dovecot.replication.ca_file }}
      - {{ dovecot.replication.dropin_file }}
      - {{ dovecot.replication.secret_file }}
    - require:
      - pkg: mailserver-dovecot-clean-pkg-removed
