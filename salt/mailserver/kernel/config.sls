# -*- coding: utf-8 -*-
# vim: ft=sls
# Kernel and network hardening, set from boot on (sysctl.d) and in force now; what a
# container does not allow is skipped, and the state's comment names it.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

include:
  - {{ tplroot }}.base

mailserver-kernel-config-file-managed:
  file.managed:
    - name: {{ mailserver.kernel.sysctl_file }}
    - source: salt://{{ tplroot }}/kernel/files/sysctl.conf.jinja
    - template: jinja
    - context:
        sysctl: {{ mailserver.kernel.sysctl | json }}
    - user: root
    - group: root
    - mode: "0644"

mailserver-kernel-config-sysctl-applied:
  mailserver_host.sysctl_applied:
    - name: kernel
    - settings: {{ mailserver.kernel.sysctl | json }}
