# -*- coding: utf-8 -*-
# vim: ft=sls
# Undo the formula's services and configuration, in the reverse order of init.sls.
# Mail, the database and the TLS key are data: clean leaves them in place.
include:
  - .dovecot.clean
  - .web.clean
  - .postfix.clean
  - .mariadb.clean
  - .fail2ban.clean
  - .firewall.clean
  - .ssh.clean
  - .base.clean
