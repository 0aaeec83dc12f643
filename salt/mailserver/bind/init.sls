# -*- coding: utf-8 -*-
# vim: ft=sls
# BIND 9: the host's own validating resolver (for Postfix, OpenDKIM, OpenDMARC and Salt;
# nobody else may recurse through it) and, when pillar turns it on, the DNSSEC-signed
# authoritative server of the mail domains and of the host's reverse names. Nothing else
# waits for it: receiving mail and serving IMAP do not need outbound DNS.
include:
  - .package
  - .config
  - .service
  - .resolver
  - .zones
