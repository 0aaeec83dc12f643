# -*- coding: utf-8 -*-
# vim: ft=sls
# nginx on HTTPS: the MTA-STS policy of every mail domain at
# https://mta-sts.<domain>/.well-known/mta-sts.txt, with the host's certificate.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set web = mailserver.web %}

include:
  - {{ tplroot }}.tls
  - {{ tplroot }}.firewall

mailserver-web-pkg-installed:
  pkg.installed:
    - pkgs: {{ web.pkgs | json }}

# Debian's catch-all site listens on port 80, which ACME's validation needs
mailserver-web-file-absent-default-site:
  file.absent:
    - name: {{ web.default_site }}
    - require:
      - pkg: mailserver-web-pkg-installed

# ... at once, not only at the end of a run that got a certificate: certbot needs port 80
mailserver-web-cmd-run-free-port-80:
  cmd.run:
    - name: systemctl reload nginx
    - onlyif: systemctl is-active --quiet nginx
    - onchanges:
      - file: mailserver-web-file-absent-default-site

mailserver-web-file-managed-mta-sts-policy:
  file.managed:
    - name: {{ web.root }}/mta-sts/.well-known/mta-sts.txt
    - contents: {{ salt["mailserver_dns.mta_sts_policy"](mailserver) | json }}
    - makedirs: true
    - user: root
    - group: root
    - mode: "0644"
    - dir_mode: "0755"

mailserver-web-file-managed-site:
  file.managed:
    - name: {{ web.config_file }}
    - source: salt://{{ tplroot }}/web/files/site.conf.jinja
    - template: jinja
    - context:
        web: {{ web | json }}
        cert_file: {{ mailserver.tls.cert_file }}
        key_file: {{ mailserver.tls.key_file }}
        names: {{ mailserver.dns.mta_sts.names | json }}
        port: {{ mailserver.ports.https }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-web-pkg-installed

mailserver-web-file-symlink-site:
  file.symlink:
    - name: {{ web.enabled_file }}
    - target: {{ web.config_file }}
    - require:
      - file: mailserver-web-file-managed-site

# a configuration nginx refuses never reaches the running server (checked until it passes:
# a failed check is not forgotten by the next run)
mailserver-web-cmd-run-check:
  cmd.run:
    - name: nginx -t
    - unless: nginx -t -q
    - require:
      - file: mailserver-web-file-managed-site
      - file: mailserver-web-file-symlink-site
      - file: mailserver-web-file-absent-default-site
      - sls: {{ tplroot }}.tls

mailserver-web-service-running:
  service.running:
    - name: {{ web.service }}
    - enable: true
    - reload: true
    - require:
      - cmd: mailserver-web-cmd-run-check
    - watch:
      - file: mailserver-web-file-managed-site
      - file: mailserver-web-file-symlink-site
      - file: mailserver-web-file-absent-default-site
      - sls: {{ tplroot }}.tls
