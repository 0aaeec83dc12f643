# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set postfwd = mailserver.postfwd %}

include:
  - {{ tplroot }}.postfwd.package

mailserver-postfwd-config-file-managed:
  file.managed:
    - names:
      - {{ postfwd.config_file }}:
        - source: salt://{{ tplroot }}/postfwd/files/postfwd.cf.jinja
      - {{ postfwd.defaults_file }}:
        - source: salt://{{ tplroot }}/postfwd/files/default.jinja
      # the watcher that locks an account past a hard limit, and its unit
      - /usr/local/sbin/mailserver-limits-watch:
        - source: salt://{{ tplroot }}/postfwd/files/limits-watch.jinja
        - mode: "0755"
      - /etc/systemd/system/mailserver-limits.service:
        - source: salt://{{ tplroot }}/postfwd/files/mailserver-limits.service.jinja
    - template: jinja
    - context:
        postfwd: {{ postfwd | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-postfwd-package-pkg-installed

mailserver-postfwd-config-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-postfwd-config-file-managed
