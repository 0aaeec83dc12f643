# -*- coding: utf-8 -*-
# vim: ft=sls
# nginx on HTTPS: the MTA-STS policy of every mail domain at
# https://mta-sts.<domain>/.well-known/mta-sts.txt, with the host's certificate.
include:
  - .package
  - .config
  - .service
