# -*- coding: utf-8 -*-
# vim: ft=sls
# Example pillar for the demo mail host mx1.example.com (the lab's `make demo` applies it).
# Defaults live in salt/mailserver/parameters/defaults.yaml; a key that the formula does not
# know is refused (a typo is an error, not silently ignored), and every value is checked
# before anything changes on the host.
mailserver:
  # The mail host's fully qualified name: Postfix's EHLO name, the TLS certificate's name,
  # the target of the MX records. Default: the minion's fqdn grain.
  hostname: mx1.example.com
  # The domain written to /etc/mailname: what follows @ in mail the host itself sends
  # (cron, bounces). Default: the host name without its first label.
  mailname: example.com

  # The mail domains this host receives for. Removing one removes its mailboxes and aliases.
  domains:
    - example.com
    - example.org

  # Mailboxes: address -> password hash (never a password) and an optional quota.
  # Make a hash with `salt-call --local mailserver_accounts.hash_password [SCHEME]`: it
  # prompts without echo. Schemes: SHA512-CRYPT (the guide's, $6$), BLF-CRYPT ($2y$),
  # ARGON2ID ($argon2id$); a {SCHEME} prefix is optional. Keep real hashes GPG-encrypted
  # (see README). The demo passwords are <name>-demo-pass.
  mailboxes:
    alice@example.com:
      password_hash: "{SHA512-CRYPT}$6$ldKJCPMCvw5P/O.C$JAGYUx69iFYH/3MHzEA5ojp5IQJigIAQt6cvwesjo7A7dvsNFsN1FLoStMhzK5VMRzocLgYPVbtSmd9jrqcIi."
      # bytes, or a number with K, M, G or T; 0 or absent: no limit
      quota: 2G
    bob@example.com:
      password_hash: "$2y$10$yd9S1Yr9KVUngSf4qSKb5.KV6YEf/w3qkpru.bgNjFjgn8cvo/ky6"
    carol@example.org:
      password_hash: "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=4$zNnbOydEqPVeK0UIgXBurQ$Z1yhDmtYjgMKvC5XCFR+OC24e0W9HuBFvhT+JssduDU"
      quota: 500M

  # Aliases: address -> one address or a list. "@domain" is the domain's catch-all. Local
  # destinations must be mailboxes or aliases; loops are refused.
  aliases:
    postmaster@example.com: alice@example.com
    abuse@example.com: postmaster@example.com
    info@example.com:
      - alice@example.com
      - bob@example.com
    postmaster@example.org: alice@example.com
    "@example.org": carol@example.org

  # Mail of removed mailboxes is moved aside under <mail_root>/.removed/; true deletes it.
  purge_removed_mailboxes: false

  # The admin's login: SSH public keys only (root and password logins are off), and sudo.
  # Put your own key here; the one below belongs to nobody.
  admin:
    name: mailadmin
    ssh_keys:
      - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJWUMTS/syQoodXVC6DuUNMnn/PVmGb8LIlzFP973B6n admin@laptop (replace with yours)"

  ssh:
    # more AllowUsers patterns, e.g. "mailadmin@192.0.2.0/24" (the admin is always allowed)
    allow_users: []

  # The firewall (ufw) lets in SSH and the mail ports by itself; add only what else you run.
  firewall:
    allow: []
    #  - {port: 9100, proto: tcp, from: 192.0.2.0/24}

  # Repeated failed logins (SSH, SMTP AUTH, IMAP, ManageSieve, webmail) get an address banned.
  # Never ban these: your office, your monitoring (here: the lab's peer host, which the
  # tests also use to log in with wrong passwords on purpose).
  fail2ban:
    ignoreip:
      - 198.51.100.20
      - 2001:db8:100::20

  # rspamd's GTUBE variants for "add header" on (the lab's tests file one into Junk); leave
  # this out on a real host.
  rspamd:
    test_patterns: true

  # Greylisting (Postgrey) of unauthenticated mail on port 25. The lab's peer is whitelisted
  # like a trusted relay, so the tests' mail is not held; the greylisting test sends from
  # another address of the peer, with the delay shortened from 300 s to 2 s.
  postgrey:
    delay: 2
    whitelist_clients:
      - 198.51.100.20
      - 2001:db8:100::20

  # Time sources (Chrony). Here the lab's peer; elsewhere your provider's servers, or leave
  # this out for Debian's pool.
  chrony:
    servers:
      - peer.example.net
    pools: []

  base:
    # Packages every mail host needs before any service: the CA bundle, openssl for TLS
    # checks, dig for DNS checks. The list replaces the default one.
    pkgs:
      - ca-certificates
      - openssl
      - bind9-dnsutils

  # The certificate: PEM of the chain and of its key. Leave both out for a self-signed one
  # made on the first run. Or one from Let's Encrypt (any ACME CA), renewed by itself:
  # tls:
  #   acme:
  #     enabled: true
  #     email: postmaster@example.com
  # tls:
  #   certificate: |
  #     -----BEGIN CERTIFICATE-----
  #   private_key: |
  #     -----BEGIN PRIVATE KEY-----

# The Salt mine publishes the DKIM public keys (never the private ones) to the master, so DNS
# can be built from them: `salt-run mine.get mx1 mailserver_dkim.public_keys`.
mine_functions:
  mailserver_dkim.public_keys: []
  # each host's certificate: the other hosts of a cluster verify it (docs/multihost.md)
  mailserver_cluster.certificate: []
