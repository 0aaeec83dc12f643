# -*- coding: utf-8 -*-
# vim: ft=sls
# What every mail host needs before any service: the CA bundle and tools, /etc/mailname, and
# the snapshot of the settings that functions called from the command line read.
include:
  - .package
  - .config
