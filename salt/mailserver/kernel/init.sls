# -*- coding: utf-8 -*-
# vim: ft=sls
# Debian 12's kernel is current (the guide's backports kernel is not needed); the usual
# network and kernel hardening instead.
include:
  - .config
