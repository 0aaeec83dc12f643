# -*- coding: utf-8 -*-
# vim: ft=sls
# The whole mail host: one sub-state per service.
include:
  - .base
  - .ssh
  - .kernel
  - .chrony
  - .updates
  - .firewall
  - .fail2ban
  - .tls
  - .store
  - .dkim
  - .dmarc
  - .mariadb
  - .postfix
  - .dovecot
  - .accounts
