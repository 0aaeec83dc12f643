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

# The cluster (docs/multihost.md): the other hosts' addresses, whose mail skips the milters and
# greylisting here (they judged it with the same checks), and how mail is handed over to the
# primary: TLS required, verified against the certificate the primary published in the mine
{%- set cluster = mailserver.cluster %}
{%- set pem = salt["mailserver_cluster.certificate_of"](cluster.relay_to) if cluster.relay_to else "" %}
mailserver-postfix-config-file-managed-cluster:
  file.managed:
    - names:
      - {{ postfix.config_dir }}/cluster-clients.cidr:
        - source: salt://{{ tplroot }}/postfix/files/cluster-clients.cidr.jinja
      - {{ postfix.config_dir }}/cluster-milters.cidr:
        - source: salt://{{ tplroot }}/postfix/files/cluster-milters.cidr.jinja
      - {{ postfix.config_dir }}/cluster-tls-policy:
        - source: salt://{{ tplroot }}/postfix/files/cluster-tls-policy.jinja
{%- if pem %}
      # the trust anchor, where smtp(8) reads it: inside its chroot (master.cf), and outside
      - {{ postfix.anchor_file }}:
        - source: salt://{{ tplroot }}/postfix/files/cluster-primary.pem.jinja
      - {{ postfix.chroot_dir ~ postfix.anchor_file }}:
        - source: salt://{{ tplroot }}/postfix/files/cluster-primary.pem.jinja
{%- endif %}
    - makedirs: true
    - template: jinja
    - context:
        mailserver: {{ mailserver | json }}
        pem: {{ pem | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-postfix-package-pkg-installed
    - require_in:
      - file: mailserver-postfix-config-file-managed
{%- if cluster.relay_to and not pem %}

mailserver-postfix-config-test-fail-without-changes-cluster-primary:
  test.fail_without_changes:
    - name: cluster-primary
    - comment: >-
        the primary, {{ cluster.relay_to }}, has published no certificate in the Salt mine:
        apply the primary first, through the salt-master, with mine_functions set as
        pillar.example does (a cluster's hosts learn each other's certificates there)
    - require_in:
      - file: mailserver-postfix-config-file-managed
{%- endif %}
{%- if cluster.hosts | length > 1 %}

# the other hosts verify this one against the certificate it published: kept current
mailserver-postfix-config-module-run-mine-update:
  module.run:
    - mine.update: []
{%- if salt["mailserver_cluster.mine_current"]() %}
    - onchanges:
      - sls: {{ tplroot }}.tls
{%- else %}
    - require:
      - sls: {{ tplroot }}.tls
{%- endif %}
{%- endif %}

# Postfix's chrooted daemons read a copy of resolv.conf that Debian makes when Postfix
# starts; it follows the host's (the resolver's switch to BIND), and a reload reads it
mailserver-postfix-config-file-managed-chroot-resolv-conf:
  file.managed:
    - name: {{ postfix.chroot_dir }}/etc/resolv.conf
    - source: {{ mailserver.dns.bind.resolv_conf }}
    - onlyif: test -d {{ postfix.chroot_dir }}/etc
    - require:
      - pkg: mailserver-postfix-package-pkg-installed
