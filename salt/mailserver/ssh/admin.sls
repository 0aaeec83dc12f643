# -*- coding: utf-8 -*-
# vim: ft=sls
# The admin: a login with SSH keys only and sudo; the account has no password at all.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set admin = mailserver.admin %}

include:
  - {{ tplroot }}.ssh.package

mailserver-ssh-admin-user-present:
  user.present:
    - name: {{ admin.name }}
    - shell: /bin/bash
    - createhome: true
    - groups:
      - sudo
    - password: "*"
    - require:
      - pkg: mailserver-ssh-package-pkg-installed

mailserver-ssh-admin-ssh-auth-manage:
  ssh_auth.manage:
    - user: {{ admin.name }}
    - ssh_keys: {{ admin.ssh_keys | json }}
    - require:
      - user: mailserver-ssh-admin-user-present

mailserver-ssh-admin-file-managed-sudoers:
  file.managed:
    - name: /etc/sudoers.d/mailserver-admin
    - source: salt://{{ tplroot }}/ssh/files/sudoers.jinja
    - template: jinja
    - context:
        admin: {{ admin.name }}
    - user: root
    - group: root
    - mode: "0440"
    - check_cmd: visudo -c -f
    - require:
      - user: mailserver-ssh-admin-user-present
