# -*- coding: utf-8 -*-
# vim: ft=sls
# Undo the formula, sub-states in the reverse order of init.sls.
include:
  - .base.clean
