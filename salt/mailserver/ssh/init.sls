# -*- coding: utf-8 -*-
# vim: ft=sls
include:
  - .package
  - .admin
  - .config
  - .service
