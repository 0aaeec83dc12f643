# -*- coding: utf-8 -*-
# vim: ft=sls
# OpenDMARC: inbound mail whose From: domain it fails (no aligned SPF or DKIM pass) is
# refused under p=reject and held under p=quarantine. Our own users are not judged.
include:
  - .package
  - .config
  - .service
