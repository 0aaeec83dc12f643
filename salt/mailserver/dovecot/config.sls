# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dovecot = mailserver.dovecot %}
{#- the replication partner's certificate, as it published it in the mine (docs/multihost.md) #}
{%- set partner = mailserver.cluster.partner %}
{%- set replication = dovecot.replication %}
{%- set pem = salt["mailserver_cluster.certificate_of"](partner) if partner else "" %}

include:
  - {{ tplroot }}.dovecot.package
  - {{ tplroot }}.store.config
  - {{ tplroot }}.tls
  - {{ tplroot }}.mariadb.database

# Dovecot's lock files live on tmpfs, in a directory remade at every boot.
mailserver-dovecot-config-file-managed-tmpfiles:
  file.managed:
    - name: {{ dovecot.tmpfiles_file }}
    - source: salt://{{ tplroot }}/dovecot/files/tmpfiles.conf.jinja
    - template: jinja
    - context:
        dovecot: {{ dovecot | json }}
        vmail: {{ mailserver.vmail | json }}
    - require:
      - user: mailserver-store-config-user-present-vmail

mailserver-dovecot-config-cmd-run-tmpfiles:
  cmd.run:
    - name: systemd-tmpfiles --create {{ dovecot.tmpfiles_file }}
    - unless: test -d {{ dovecot.volatile_dir }}
    - require:
      - file: mailserver-dovecot-config-file-managed-tmpfiles

# Mailbox replication with the partner (docs/multihost.md): doveadm's TLS is verified
# against the system's CAs and, once the partner has published it in the mine, its own
# certificate (a self-signed one is trusted no other way); without a partner the file goes
mailserver-dovecot-config-file-replication-ca:
{%- if pem %}
  file.managed:
    - name: {{ replication.ca_file }}
    - contents: {{ pem | json }}
    - user: root
    - group: root
    - mode: "0644"
{%- else %}
  file.absent:
    - name: {{ replication.ca_file }}
{%- endif %}
    - require_in:
      - file: mailserver-dovecot-config-file-managed

# The whole configuration in one file (Debian's conf.d is not included), checked by doveconf
# before it replaces the running one.
mailserver-dovecot-config-file-managed:
  file.managed:
    - name: {{ dovecot.config_file }}
    - source: salt://{{ tplroot }}/dovecot/files/dovecot.conf.jinja
    - template: jinja
    - context:
        mailserver: {{ mailserver | json }}
        partner_ca: {{ (pem != "") | json }}
    - user: root
    - group: root
    - mode: "0644"
    - check_cmd: doveconf -n -c
    - require:
      - cmd: mailserver-dovecot-config-cmd-run-tmpfiles
      - pkg: mailserver-dovecot-package-pkg-installed
      - user: mailserver-store-config-user-present-vmail
      - sls: {{ tplroot }}.tls
      - mailserver_db: mailserver-mariadb-database-reader-present

# Sieve scripts of the formula: rspamd's spam filed into Junk before each user's filters,
# and learning from moves into and out of Junk (IMAPSieve), compiled before Dovecot runs them
mailserver-dovecot-config-file-managed-sieve:
  file.managed:
    - names:
      - {{ dovecot.sieve_dir }}/before.d/10-junk.sieve:
        - source: salt://{{ tplroot }}/dovecot/files/junk.sieve.jinja
      - {{ dovecot.sieve_dir }}/learn/spam.sieve:
        - source: salt://{{ tplroot }}/dovecot/files/learn-spam.sieve.jinja
      - {{ dovecot.sieve_dir }}/learn/ham.sieve:
        - source: salt://{{ tplroot }}/dovecot/files/learn-ham.sieve.jinja
    - template: jinja
    - makedirs: true
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-dovecot-package-pkg-installed

mailserver-dovecot-config-file-managed-learn:
  file.managed:
    - name: {{ dovecot.sieve_dir }}/bin/rspamd-learn
    - source: salt://{{ tplroot }}/dovecot/files/rspamd-learn.jinja
    - template: jinja
    - context:
        port: {{ mailserver.rspamd.controller_port }}
        fuzzy_flag: {{ mailserver.rspamd.fuzzy_flag }}
    - makedirs: true
    - user: root
    - group: root
    - mode: "0755"

# compiled with the formula's configuration, which loads the plugins the scripts require
# (imapsieve, extprograms' pipe): read from the file (-c), after it is written; without -c
# sievec asks a running Dovecot, which answers with the configuration it started with
# (Debian's default at the first highstate), and the learning scripts fail
mailserver-dovecot-config-cmd-run-sievec:
  cmd.run:
    - names:
      - sievec -c {{ dovecot.config_file }} {{ dovecot.sieve_dir }}/before.d
      - sievec -c {{ dovecot.config_file }} {{ dovecot.sieve_dir }}/learn
    - onchanges:
      - file: mailserver-dovecot-config-file-managed-sieve
    - require:
      - file: mailserver-dovecot-config-file-managed

mailserver-dovecot-config-file-replication-dropin:
{%- if partner %}
  file.managed:
    - name: {{ replication.dropin_file }}
    - source: salt://{{ tplroot }}/dovecot/files/replication-dropin.conf.jinja
    - template: jinja
    - makedirs: true
    - user: root
    - group: root
    - mode: "0644"
{%- else %}
  file.absent:
    - name: {{ replication.dropin_file }}
{%- endif %}

mailserver-dovecot-config-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-dovecot-config-file-replication-dropin
{%- if partner and not salt["file.file_exists"](replication.secret_file) %}

# the shared secret is made on the primary and handed to the replica sealed, by the master
mailserver-dovecot-config-test-fail-without-changes-replication-secret:
  test.fail_without_changes:
    - name: replication-secret
    - comment: >-
        no replication secret yet ({{ replication.secret_file }}): run
        salt-run mailserver.pair_replica <primary> <replica> on the master, then apply again
    - require_in:
      - file: mailserver-dovecot-config-file-managed
{%- endif %}
