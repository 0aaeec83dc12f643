# -*- coding: utf-8 -*-
# vim: ft=sls
# Postgrey, the guide's greylisting: for unauthenticated mail on port 25 to our known
# recipients only; its triplets kept inside the store.
include:
  - .package
  - .config
  - .service
