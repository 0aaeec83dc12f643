# -*- coding: utf-8 -*-
# vim: ft=sls
# The encrypted mail store (the guide's EncFS, or gocryptfs) and the unprivileged user that
# owns the mail in it. The services that use it cannot start while it is locked.
include:
  - .package
  - .config
  - .service
