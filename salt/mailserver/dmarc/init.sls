# -*- coding: utf-8 -*-
# vim: ft=sls
# OpenDMARC: inbound mail whose From: domain it fails (no aligned SPF or DKIM pass) is
# refused under p=reject and held under p=quarantine. Our own users are not judged.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set dmarc = mailserver.dmarc %}

include:
  - {{ tplroot }}.dkim

mailserver-dmarc-pkg-installed:
  pkg.installed:
    - pkgs: {{ dmarc.pkgs | json }}

mailserver-dmarc-file-managed-config:
  file.managed:
    - name: {{ dmarc.config_file }}
    - contents: |
        # Managed by Salt (mailserver formula). Edit pillar, not this file.
        Syslog true
        UMask 0002
        UserID opendmarc
        PidFile /run/opendmarc/opendmarc.pid
        Socket inet:{{ dmarc.port }}@127.0.0.1
        AuthservID {{ mailserver.hostname }}
        # the DKIM results OpenDKIM wrote just before, under the same name
        TrustedAuthservIDs {{ mailserver.hostname }}
        # SPF checked here (envelope sender and HELO), results from elsewhere ignored
        SPFSelfValidate true
        SPFIgnoreResults true
        IgnoreAuthenticatedClients true
        IgnoreHosts {{ mailserver.dkim.dir }}/trusted.hosts
        RejectFailures true
        HoldQuarantinedMessages true
        RequiredHeaders true
        PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-dmarc-pkg-installed
      - file: mailserver-dkim-file-managed-trusted-hosts

mailserver-dmarc-service-running:
  service.running:
    - name: {{ dmarc.service }}
    - enable: true
    - watch:
      - file: mailserver-dmarc-file-managed-config
