# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set postgrey = mailserver.postgrey %}

include:
  - {{ tplroot }}.postgrey.package

mailserver-postgrey-config-file-managed:
  file.managed:
    - names:
      - {{ postgrey.defaults_file }}:
        - source: salt://{{ tplroot }}/postgrey/files/default.jinja
      - {{ postgrey.clients_file }}:
        - source: salt://{{ tplroot }}/postgrey/files/whitelist_clients.jinja
      - {{ postgrey.recipients_file }}:
        - source: salt://{{ tplroot }}/postgrey/files/whitelist_recipients.jinja
    - template: jinja
    - context:
        postgrey: {{ postgrey | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-postgrey-package-pkg-installed
