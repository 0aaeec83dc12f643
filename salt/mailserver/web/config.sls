# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set web = mailserver.web %}

include:
  - {{ tplroot }}.web.package

# Debian's catch-all site listens on port 80, which ACME's validation needs
mailserver-web-config-file-absent-default-site:
  file.absent:
    - name: {{ web.default_site }}
    - require:
      - pkg: mailserver-web-package-pkg-installed

# ... at once, not only at the end of a run that got a certificate: certbot needs port 80
mailserver-web-config-cmd-run-free-port-80:
  cmd.run:
    - name: systemctl reload {{ web.service }}
    - onlyif: systemctl is-active --quiet {{ web.service }}
    - onchanges:
      - file: mailserver-web-config-file-absent-default-site

mailserver-web-config-file-managed-mta-sts-policy:
  file.managed:
    - name: {{ web.root }}/mta-sts/.well-known/mta-sts.txt
    - source: salt://{{ tplroot }}/web/files/mta-sts.txt.jinja
    - template: jinja
    - context:
        policy: {{ mailserver.dns.mta_sts.policy | json }}
    - makedirs: true
    - user: root
    - group: root
    - mode: "0644"
    - dir_mode: "0755"

mailserver-web-config-file-managed-site:
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
        hostname: {{ mailserver.hostname }}
        rspamd: {{ mailserver.rspamd | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-web-package-pkg-installed

mailserver-web-config-file-symlink-site:
  file.symlink:
    - name: {{ web.enabled_file }}
    - target: {{ web.config_file }}
    - require:
      - file: mailserver-web-config-file-managed-site
