# -*- coding: utf-8 -*-
# vim: ft=sls
# Encrypted backups (BorgBackup through borgmatic) to a repository over SSH on another host:
# the store's ciphertext, a dump of the accounts database, the keys and secrets of the host.
# Nothing while `backup:enabled` is off.
include:
  - .package
  - .config
  - .service
