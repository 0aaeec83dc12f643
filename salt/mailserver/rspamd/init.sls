# -*- coding: utf-8 -*-
# vim: ft=sls
# rspamd (the successor of the guide's dspam): scores every inbound message as a milter of
# Postfix, its Bayes statistics and fuzzy hashes in Redis inside the store.
include:
  - .package
  - .config
  - .service
