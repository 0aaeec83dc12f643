# -*- coding: utf-8 -*-
# vim: ft=sls
# Turns the firewall off; the rules stay written, for the next enable.
mailserver-firewall-clean-cmd-run-disable:
  cmd.run:
    - name: ufw --force disable
    - onlyif: 'ufw status | grep -q "Status: active"'
