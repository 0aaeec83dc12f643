# -*- coding: utf-8 -*-
# vim: ft=sls
# OpenDKIM (as in the guide): keys made on the minion (never in pillar, never leaving the
# host; the mine publishes the public half), mail of our domains signed when it comes from
# an authenticated user or from this host, inbound mail verified.
include:
  - .package
  - .config
  - .service
