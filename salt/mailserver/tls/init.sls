# -*- coding: utf-8 -*-
# vim: ft=sls
# The certificate of Postfix, Dovecot and nginx, for every name of the model's `tls:names`
# (the host name and every mta-sts.<domain>): from pillar, from an ACME CA, or self-signed on
# the first run.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set tls = mailserver.tls %}
{%- set acme = tls.acme %}

include:
  - {{ tplroot }}.firewall

mailserver-tls-file-directory:
  file.directory:
    - name: {{ tls.dir }}
    - user: root
    - group: root
    - mode: "0755"
    - makedirs: true

{%- if tls.source == "pillar" %}

mailserver-tls-file-managed-key:
  file.managed:
    - name: {{ tls.key_file }}
    - contents_pillar: mailserver:tls:private_key
    - user: root
    - group: root
    - mode: "0600"
    - show_changes: false
    - require:
      - file: mailserver-tls-file-directory

mailserver-tls-file-managed-cert:
  file.managed:
    - name: {{ tls.cert_file }}
    - contents_pillar: mailserver:tls:certificate
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - file: mailserver-tls-file-directory
{%- elif tls.source == "acme" %}

mailserver-tls-pkg-installed-acme:
  pkg.installed:
    - pkgs: {{ acme.pkgs | json }}

mailserver-tls-file-managed-deploy-hook:
  file.managed:
    - name: {{ acme.deploy_hook }}
    - source: salt://{{ tplroot }}/tls/files/deploy-cert.sh.jinja
    - template: jinja
    - context:
        tls: {{ tls | json }}
    - user: root
    - group: root
    - mode: "0755"

{%-   if acme.ca_bundle %}

mailserver-tls-file-managed-acme-ca:
  file.managed:
    - name: {{ acme.ca_file }}
    - contents_pillar: mailserver:tls:acme:ca_bundle
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - file: mailserver-tls-file-directory
    - require_in:
      - mailserver_acme: mailserver-tls-acme-certificate

# certbot's timer renews with the same trust in the directory's CA
mailserver-tls-file-managed-certbot-dropin:
  file.managed:
    - name: /etc/systemd/system/certbot.service.d/mailserver.conf
    - source: salt://{{ tplroot }}/tls/files/certbot-dropin.conf.jinja
    - template: jinja
    - context:
        acme: {{ acme | json }}
    - makedirs: true

mailserver-tls-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-tls-file-managed-certbot-dropin
{%-   endif %}

mailserver-tls-acme-certificate:
  mailserver_acme.certificate:
    - name: {{ acme.cert_name }}
    - domains: {{ tls.names | json }}
    - server: {{ acme.server }}
    - email: {{ acme.email | json }}
    - http_port: {{ acme.http_port }}
    - deploy_hook: {{ acme.deploy_hook }}
    - ca_file: {{ acme.ca_file if acme.ca_bundle else "" }}
    - require:
      - pkg: mailserver-tls-pkg-installed-acme
      - file: mailserver-tls-file-managed-deploy-hook
      - file: mailserver-tls-file-directory
      # the firewall lets the CA's validation in first
      - sls: {{ tplroot }}.firewall

# certbot runs the hook itself after each issue and renewal; this catches a run it missed
mailserver-tls-cmd-run-deploy:
  cmd.run:
    - name: {{ acme.deploy_hook }}
    - unless: cmp -s /etc/letsencrypt/live/{{ acme.cert_name }}/fullchain.pem {{ tls.cert_file }}
    - require:
      - mailserver_acme: mailserver-tls-acme-certificate
{%- else %}

mailserver-tls-x509-private-key-managed:
  x509.private_key_managed:
    - name: {{ tls.key_file }}
    - algo: rsa
    - keysize: 3072
    - user: root
    - group: root
    - mode: "0600"
    - require:
      - file: mailserver-tls-file-directory

mailserver-tls-x509-certificate-managed:
  x509.certificate_managed:
    - name: {{ tls.cert_file }}
    - signing_private_key: {{ tls.key_file }}
    - private_key: {{ tls.key_file }}
    - CN: {{ mailserver.hostname }}
    - subjectAltName: {{ ("DNS:" ~ tls.names | join(", DNS:")) | json }}
    - basicConstraints: "critical, CA:false"
    - keyUsage: "critical, digitalSignature, keyEncipherment"
    - extendedKeyUsage: serverAuth
    - days_valid: {{ tls.self_signed_days }}
    - days_remaining: 30
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - x509: mailserver-tls-x509-private-key-managed
{%- endif %}
