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
  - .web
  - .store
  - .dkim
  - .dmarc
  - .bind
  - .mariadb
  - .redis
  - .rspamd
  - .postgrey
  - .postfwd
  - .postfix
  - .dovecot
  - .accounts
  - .webmail
  - .backup
