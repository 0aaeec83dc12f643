# -*- coding: utf-8 -*-
# vim: ft=sls
# Example pillar for the demo mail host mx1.example.com (the lab's `make demo` applies it).
# Every key is optional; defaults live in salt/mailserver/parameters/defaults.yaml, and a key
# that the formula does not know is refused (so a typo is an error, not silently ignored).
mailserver:
  # The mail host's fully qualified name: Postfix's EHLO name, the TLS certificate's name,
  # the target of the MX records. Default: the minion's fqdn grain.
  hostname: mx1.example.com
  # The domain written to /etc/mailname: what follows @ in mail the host itself sends
  # (cron, bounces). Default: the host name without its first label.
  mailname: example.com
  base:
    # Packages every mail host needs before any service: the CA bundle, openssl for TLS
    # checks, dig for DNS checks. The list replaces the default one.
    pkgs:
      - ca-certificates
      - openssl
      - bind9-dnsutils
