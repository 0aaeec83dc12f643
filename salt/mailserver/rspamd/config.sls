# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set rspamd = mailserver.rspamd %}
{%- set local = ["worker-proxy.inc", "worker-controller.inc", "worker-fuzzy.inc",
                 "fuzzy_check.conf", "fuzzy_group.conf", "actions.conf", "greylist.conf",
                 "milter_headers.conf", "options.inc", "classifier-bayes.conf",
                 "dkim_signing.conf", "arc.conf", "dmarc.conf", "force_actions.conf"] %}

include:
  - {{ tplroot }}.rspamd.package

mailserver-rspamd-config-file-managed:
  file.managed:
    - names:
{%- for name in local %}
      - {{ rspamd.local_dir }}/{{ name }}:
        - source: salt://{{ tplroot }}/rspamd/files/{{ name }}.jinja
{%- endfor %}
    - template: jinja
    - context:
        rspamd: {{ rspamd | json }}
        nameservers: {{ mailserver.dns.nameservers | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-rspamd-package-pkg-installed
