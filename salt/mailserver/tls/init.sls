# -*- coding: utf-8 -*-
# vim: ft=sls
# The certificate of Postfix and Dovecot: from pillar, or self-signed on the first run.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set tls = mailserver.tls %}

mailserver-tls-file-directory:
  file.directory:
    - name: {{ tls.dir }}
    - user: root
    - group: root
    - mode: "0755"
    - makedirs: true

{%- if tls.certificate %}

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
    - subjectAltName: {{ ("DNS:" ~ mailserver.hostname) | json }}
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
