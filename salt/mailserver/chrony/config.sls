# -*- coding: utf-8 -*-
# vim: ft=sls
# In a container the clock is the host's: chronyd tracks it without setting it (-x), and
# Debian's unit condition on CAP_SYS_TIME is lifted.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set chrony = mailserver.chrony %}

include:
  - {{ tplroot }}.chrony.package

mailserver-chrony-config-file-managed:
  file.managed:
    - names:
      - {{ chrony.config_file }}:
        - source: salt://{{ tplroot }}/chrony/files/chrony.conf.jinja
      - {{ chrony.defaults_file }}:
        - source: salt://{{ tplroot }}/chrony/files/default.jinja
    - template: jinja
    - context:
        chrony: {{ chrony | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-chrony-package-pkg-installed

mailserver-chrony-config-file-dropin:
  file.{{ "absent" if chrony.clock_control else "managed" }}:
    - name: /etc/systemd/system/{{ chrony.service }}.service.d/mailserver.conf
{%- if not chrony.clock_control %}
    - source: salt://{{ tplroot }}/chrony/files/dropin.conf.jinja
    - makedirs: true
{%- endif %}

mailserver-chrony-config-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-chrony-config-file-dropin
