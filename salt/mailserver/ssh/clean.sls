# -*- coding: utf-8 -*-
# vim: ft=sls
# Removes the formula's sshd drop-in and sudoers entry; the admin's account stays.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-ssh-clean-file-absent-config:
  file.absent:
    - name: {{ mailserver.ssh.config_file }}

mailserver-ssh-clean-file-absent-sudoers:
  file.absent:
    - name: /etc/sudoers.d/mailserver-admin
