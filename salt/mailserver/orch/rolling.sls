# -*- coding: utf-8 -*-
# vim: ft=sls
# Rolling changes across the cluster's hosts (docs/multihost.md), run on the master:
#   salt-run state.orchestrate mailserver.orch.rolling [pillar='{"tgt": "mx*"}']
# One host at a time, in the order of their minion IDs: its highstate, then its status check
# (mailserver.check); the next host starts only once both passed, and the first failure stops
# the run, so the other hosts keep serving mail.
{%- set tgt = pillar.get("tgt", "mx*") %}
{%- set minions = salt["saltutil.runner"]("manage.up", tgt=tgt) | sort %}
{%- if not minions %}

mailserver-orch-rolling-test-fail-without-changes:
  test.fail_without_changes:
    - name: no minion answers for {{ tgt }}
{%- endif %}
{%- for minion in minions %}

mailserver-orch-rolling-salt-state-highstate-{{ minion }}:
  salt.state:
    - tgt: {{ minion }}
    - highstate: true
    - failhard: true
{%- if not loop.first %}
    - require:
      - salt: mailserver-orch-rolling-salt-state-check-{{ loop.previtem }}
{%- endif %}

mailserver-orch-rolling-salt-state-check-{{ minion }}:
  salt.state:
    - tgt: {{ minion }}
    - sls: mailserver.check
    - failhard: true
    - require:
      - salt: mailserver-orch-rolling-salt-state-highstate-{{ minion }}
{%- endfor %}
