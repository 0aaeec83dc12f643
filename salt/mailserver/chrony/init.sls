# -*- coding: utf-8 -*-
# vim: ft=sls
# Time (Chrony, as in the guide): servers and pools from pillar; no NTP service to others.
include:
  - .package
  - .config
  - .service
