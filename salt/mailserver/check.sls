# -*- coding: utf-8 -*-
# vim: ft=sls
# The status check as a state: it fails when a check fails and changes nothing
# (`salt mx1 state.apply mailserver.check`; the rolling orchestration runs it on each host).
mailserver-check-mailserver-status-passed:
  mailserver_status.passed:
    - name: {{ grains["id"] }}
