# -*- coding: utf-8 -*-
# vim: ft=sls
# Undo the formula, in the reverse order of init.sls: its services stop, its packages and its
# files go. Data stays (mail in the store, the database, DKIM and DNSSEC keys, certificates)
# unless `clean:database` or `clean:mail_store` asks otherwise; the admin's way in stays.
include:
  - .backup.clean
  - .webmail.clean
  - .dovecot.clean
  - .postfix.clean
  - .postfwd.clean
  - .postgrey.clean
  - .rspamd.clean
  - .redis.clean
  - .mariadb.clean
  - .bind.clean
  - .dmarc.clean
  - .dkim.clean
  - .store.clean
  - .web.clean
  - .tls.clean
  - .fail2ban.clean
  - .firewall.clean
  - .updates.clean
  - .chrony.clean
  - .kernel.clean
  - .ssh.clean
  - .base.clean
