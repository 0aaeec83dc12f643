# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.ssh.admin
  - {{ tplroot }}.ssh.config

# the whole configuration (main file + drop-in) must pass before sshd is reloaded
mailserver-ssh-service-cmd-run-check:
  cmd.run:
    - name: /usr/sbin/sshd -t
    - onchanges:
      - file: mailserver-ssh-config-file-managed
      - cmd: mailserver-ssh-config-cmd-run-rsa-host-key
      - cmd: mailserver-ssh-config-cmd-run-moduli

mailserver-ssh-service-running:
  service.running:
    - name: {{ mailserver.ssh.service }}
    - enable: true
    - reload: true
    - require:
      - cmd: mailserver-ssh-service-cmd-run-check
      # never lock the admin out: the key is in place before password logins go away
      - ssh_auth: mailserver-ssh-admin-ssh-auth-manage
    - watch:
      - file: mailserver-ssh-config-file-managed
      - cmd: mailserver-ssh-config-cmd-run-rsa-host-key
      - cmd: mailserver-ssh-config-cmd-run-ed25519-host-key
      - cmd: mailserver-ssh-config-cmd-run-moduli
