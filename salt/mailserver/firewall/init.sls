# -*- coding: utf-8 -*-
# vim: ft=sls
# ufw: default deny incoming on IPv4 and IPv6; exactly the formula's public services (the
# model's `services`) and the Salt master's connections let in. SSH is allowed before ufw is
# enabled.
include:
  - .package
  - .service
