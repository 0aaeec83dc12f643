# -*- coding: utf-8 -*-
# vim: ft=sls
# Redis: rspamd's statistics, fuzzy hashes and history, kept inside the encrypted store,
# on the loopback only, with a password made on the host.
include:
  - .package
  - .config
  - .service
