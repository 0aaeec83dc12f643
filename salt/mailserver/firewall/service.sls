# -*- coding: utf-8 -*-
# vim: ft=sls

include:
  - .package

mailserver-firewall-service-enabled:
  mailserver_firewall.enabled:
    - name: ufw
    - require:
      - pkg: mailserver-firewall-package-pkg-installed
