# -*- coding: utf-8 -*-
# vim: ft=sls
# Debian 12's kernel is current (the guide's backports kernel is not needed); the usual
# network and kernel hardening instead. What a container does not allow is skipped, and the
# state's comment names it.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}

mailserver-kernel-sysctl-hardened:
  mailserver_host.sysctl_hardened:
    - name: {{ mailserver.kernel.sysctl_file }}
    - settings: {{ mailserver.kernel.sysctl | json }}
