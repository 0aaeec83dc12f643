# -*- coding: utf-8 -*-
# vim: ft=sls
# sshd as ssh-audit's "Hardened Debian 12" policy asks: ED25519 and RSA 4096 host keys only,
# moduli of 3072 bits and more, the policy's algorithms; keys only, no root login.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set ssh = mailserver.ssh %}

include:
  - {{ tplroot }}.ssh.package

mailserver-ssh-config-cmd-run-rsa-host-key:
  cmd.run:
    - name: >-
        rm -f /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_rsa_key.pub &&
        ssh-keygen -q -t rsa -b {{ ssh.rsa_bits }} -N "" -f /etc/ssh/ssh_host_rsa_key
    - unless: >-
        ssh-keygen -l -f /etc/ssh/ssh_host_rsa_key.pub | awk '{exit !($1 >= {{ ssh.rsa_bits }})}'
    - require:
      - pkg: mailserver-ssh-package-pkg-installed

mailserver-ssh-config-cmd-run-ed25519-host-key:
  cmd.run:
    - name: ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
    - creates: /etc/ssh/ssh_host_ed25519_key
    - require:
      - pkg: mailserver-ssh-package-pkg-installed

{%- for kind in ("ecdsa", "dsa") %}
{%-   for suffix in ("", ".pub") %}

mailserver-ssh-config-file-absent-{{ kind }}{{ suffix }}:
  file.absent:
    - name: /etc/ssh/ssh_host_{{ kind }}_key{{ suffix }}
    - require:
      - pkg: mailserver-ssh-package-pkg-installed
{%-   endfor %}
{%- endfor %}

mailserver-ssh-config-cmd-run-moduli:
  cmd.run:
    - name: >-
        awk '$1 ~ /^#/ || $5 >= {{ ssh.moduli_min_bits - 1 }}' /etc/ssh/moduli > /etc/ssh/moduli.safe &&
        mv /etc/ssh/moduli.safe /etc/ssh/moduli
    - onlyif: awk '$1 !~ /^#/ && $5 < {{ ssh.moduli_min_bits - 1 }} {found=1} END {exit !found}' /etc/ssh/moduli
    - require:
      - pkg: mailserver-ssh-package-pkg-installed

mailserver-ssh-config-file-managed:
  file.managed:
    - name: {{ ssh.config_file }}
    - source: salt://{{ tplroot }}/ssh/files/sshd.conf.jinja
    - template: jinja
    - context:
        mailserver: {{ mailserver | json }}
    - user: root
    - group: root
    - mode: "0644"
    # a bad file is refused, never reloaded into a lock-out
    - check_cmd: /usr/sbin/sshd -t -f
    - require:
      - cmd: mailserver-ssh-config-cmd-run-rsa-host-key
      - cmd: mailserver-ssh-config-cmd-run-ed25519-host-key
