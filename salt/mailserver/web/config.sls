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

# what mail clients read to set themselves up: a file per name and domain
{%- set clients = salt["mailserver_webmail.client_settings"](mailserver) %}
{%- set client_domains = mailserver.accounts.domains if mailserver.autoconfig.enabled else [] %}
{%- if client_domains %}
mailserver-web-config-file-managed-clients:
  file.managed:
    - names:
{%- for domain in client_domains %}
      - {{ web.root }}/clients/autoconfig.{{ domain }}/config-v1.1.xml:
        - source: salt://{{ tplroot }}/web/files/autoconfig.xml.jinja
        - context:
            domain: {{ domain }}
      - {{ web.root }}/clients/autodiscover.{{ domain }}/autodiscover.xml:
        - source: salt://{{ tplroot }}/web/files/autodiscover.xml.jinja
        - context:
            domain: {{ domain }}
{%- endfor %}
    - template: jinja
    - defaults:
        clients: {{ clients | json }}
    - makedirs: true
    - user: root
    - group: root
    - mode: "0644"
    - dir_mode: "0755"
{%- endif %}

# the files of names (or domains) no longer served go
mailserver-web-config-file-directory-clients:
  file.directory:
    - name: {{ web.root }}/clients
    - clean: true
{%- if client_domains %}
    - require:
      - file: mailserver-web-config-file-managed-clients
{%- endif %}

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
        webmail: {{ mailserver.webmail | json }}
        autoconfig: {{ mailserver.autoconfig | json }}
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
