# -*- coding: utf-8 -*-
# vim: ft=sls
# postfwd, the guide's policy daemon: sending limits of each authenticated user; over the
# hard limits the account is locked (a watcher of postfwd's log locks it).
include:
  - .package
  - .config
  - .service
