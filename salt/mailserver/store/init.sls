# -*- coding: utf-8 -*-
# vim: ft=sls
# The encrypted mail store (the guide's EncFS, or gocryptfs) and the unprivileged user that
# owns the mail in it. The services that use the store cannot start while it is locked.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set store = mailserver.store %}
{%- set vmail = mailserver.vmail %}

mailserver-store-pkg-installed:
  pkg.installed:
    - pkgs: {{ store.pkgs[store.backend] | json }}

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
    - home: {{ store.mail_root }}
    - createhome: false
    - shell: /usr/sbin/nologin
    - system: true
    - require:
      - group: mailserver-store-group-present-vmail

{#- Keep each dependent off the bare mount point: systemd refuses to start it unless the
    store is mounted (AssertPathIsMountPoint; RequiresMountsFor alone does not stop it). #}
{%- for name in store.dependents %}

mailserver-store-file-managed-dropin-{{ name }}:
  file.managed:
    - name: /etc/systemd/system/{{ store.units[name] }}.d/mailserver-store.conf
    - makedirs: true
    - contents: |
        # Managed by Salt (mailserver formula): {{ name }} uses the encrypted mail store.
        [Unit]
        AssertPathIsMountPoint={{ store.mount_point }}
    - onchanges_in:
      - cmd: mailserver-store-cmd-run-daemon-reload
{%- endfor %}

mailserver-store-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload

mailserver-store-unlocked:
  mailserver_store.unlocked:
    - name: {{ store.mount_point }}
    - backend: {{ store.backend }}
    - cipher_dir: {{ store.cipher_dir }}
    - dependents: {{ store.dependents | json }}
    - subdirs:
      - path: {{ store.mail_root[store.mount_point | length + 1:] }}
        uid: {{ vmail.uid }}
        gid: {{ vmail.gid }}
        mode: "0750"
    - require:
      - pkg: mailserver-store-pkg-installed
      - user: mailserver-store-user-present-vmail
      - cmd: mailserver-store-cmd-run-daemon-reload

mailserver-store-file-directory-mail-root:
  file.directory:
    - name: {{ store.mail_root }}
    - user: {{ vmail.user }}
    - group: {{ vmail.group }}
    - mode: "0750"
    - require:
      - mailserver_store: mailserver-store-unlocked
