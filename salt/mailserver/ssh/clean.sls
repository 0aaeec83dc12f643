# -*- coding: utf-8 -*-
# vim: ft=sls
# The formula's sshd hardening goes (sshd falls back to Debian's defaults, which still refuse
# root's password). The admin's account, keys and sudo stay, and so does sshd: clean never
# locks the admin out of the host.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-ssh-clean-file-absent-config:
  file.absent:
    - name: {{ mailserver.ssh.config_file }}

mailserver-ssh-clean-cmd-run-reload:
  cmd.run:
    - name: sshd -t && systemctl reload {{ mailserver.ssh.service }}
    - onchanges:
      - file: mailserver-ssh-clean-file-absent-config
