# -*- coding: utf-8 -*-
# vim: ft=sls
base:
  "mail*":
    - mailserver
  "mx*":
    - mailserver
