# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set store = mailserver.store %}
{%- set vmail = mailserver.vmail %}

mailserver-store-config-group-present-vmail:
  group.present:
    - name: {{ vmail.group }}
    - gid: {{ vmail.gid }}
    - system: true

mailserver-store-config-user-present-vmail:
  user.present:
    - name: {{ vmail.user }}
    - uid: {{ vmail.uid }}
    - gid: {{ vmail.gid }}
    - home: {{ store.mail_root }}
    - createhome: false
    - shell: /usr/sbin/nologin
    - system: true
    - require:
      - group: mailserver-store-config-group-present-vmail

{#- Keep each dependent off the bare mount point: systemd skips its start unless the store is
    mounted (RequiresMountsFor alone does not stop it). A condition, not an assertion: the
    start a package's own script asks for at install time is skipped, not failed, so the
    package installs cleanly before the store exists. #}
mailserver-store-config-file-managed-dropins:
  file.managed:
    - names:
{%- for unit in store.dependents %}
      - /etc/systemd/system/{{ unit }}.d/mailserver-store.conf:
        - context:
            unit: {{ unit }}
            after: {{ store.dependents[:loop.index0] | json }}
{%- endfor %}
    - source: salt://{{ tplroot }}/store/files/dropin.conf.jinja
    - template: jinja
    - defaults:
        mount_point: {{ store.mount_point }}
        mount_unit: {{ store.mount_unit | json }}
    - makedirs: true

mailserver-store-config-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-store-config-file-managed-dropins
