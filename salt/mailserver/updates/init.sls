# -*- coding: utf-8 -*-
# vim: ft=sls
# Automatic security updates (the guide's APT::Periodic and origin), never a reboot by itself:
# a reboot locks the encrypted mail store. A pending reboot is reported instead.
include:
  - .package
  - .config
