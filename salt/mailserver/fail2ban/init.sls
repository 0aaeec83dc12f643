# -*- coding: utf-8 -*-
# vim: ft=sls
# fail2ban (DenyHosts is not packaged for Debian 12): jails for SSH, Postfix SASL, Dovecot
# and repeat offenders, reading the systemd journal, banning on IPv4 and IPv6.
include:
  - .package
  - .config
  - .service
