# -*- coding: utf-8 -*-
# vim: ft=sls
# Where mail lives, and the unprivileged user that owns it.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set vmail = mailserver.vmail %}

mailserver-store-group-present-vmail:
  group.present:
    - name: {{ vmail.group }}
    - gid: {{ vmail.gid }}
    - system: true

mailserver-store-user-present-vmail:
  user.present:
    - name: {{ vmail.user }}
    - uid: {{ vmail.uid }}
    - gid: {{ vmail.gid }}
    - home: {{ mailserver.store.mail_root }}
    - createhome: false
    - shell: /usr/sbin/nologin
    - system: true
    - require:
      - group: mailserver-store-group-present-vmail

mailserver-store-file-directory-mail-root:
  file.directory:
    - name: {{ mailserver.store.mail_root }}
    - user: {{ vmail.user }}
    - group: {{ vmail.group }}
    - mode: "0750"
    - makedirs: true
    - require:
      - user: mailserver-store-user-present-vmail
