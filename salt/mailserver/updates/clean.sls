# -*- coding: utf-8 -*-
# vim: ft=sls
# The formula's APT settings go; unattended-upgrades stays (security updates are Debian's
# default too).
{%- set tplroot = tpldir.split("/")[0] %}

mailserver-updates-clean-file-absent:
  file.absent:
    - names:
      - /etc/apt/apt.conf.d/10periodic
      - /etc/apt/apt.conf.d/51mailserver-unattended-upgrades
