# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set postfwd = mailserver.postfwd %}

include:
  - {{ tplroot }}.postfwd.config
  - {{ tplroot }}.store

mailserver-postfwd-service-file-directory:
  file.directory:
    - name: {{ postfwd.dir }}
    - user: {{ postfwd.user }}
    - group: {{ postfwd.user }}
    - mode: "0750"
    - require:
      - mailserver_store: mailserver-store-service-unlocked
      - pkg: mailserver-postfwd-package-pkg-installed

mailserver-postfwd-service-running:
  service.running:
    - name: {{ postfwd.service }}
    - enable: true
    # postfwd has no check of its rules alone (its -C exits 1 for a valid file): they are
    # a template of checked numbers. Restarted, not reloaded, when they change (a reload
    # reaches its workers one by one); the senders' counters are saved and loaded again
    # (--save_rates), each with the limit it was counted against until its window ends.
    - require:
      # the senders' counters are kept in the store: never on the bare mount point
      - mailserver_store: mailserver-store-service-unlocked
      - file: mailserver-postfwd-service-file-directory
      - cmd: mailserver-postfwd-config-cmd-run-daemon-reload
    - watch:
      - file: mailserver-postfwd-config-file-managed

# the watcher that locks an account past a hard limit follows postfwd's log
mailserver-postfwd-service-running-watcher:
  service.running:
    - name: mailserver-limits
    - enable: true
    - require:
      - service: mailserver-postfwd-service-running
      - cmd: mailserver-postfwd-config-cmd-run-daemon-reload
    - watch:
      - file: mailserver-postfwd-config-file-managed

# after a (re)start, until postfwd answers: Postfix counts nothing while it cannot reach it
# (default_action=DUNNO: mail is never held for want of postfwd)
mailserver-postfwd-service-cmd-run-ready:
  cmd.run:
    - name: timeout 60 bash -c 'until echo >/dev/tcp/127.0.0.1/{{ postfwd.port }}; do sleep 0.2; done'
    - onchanges:
      - service: mailserver-postfwd-service-running
