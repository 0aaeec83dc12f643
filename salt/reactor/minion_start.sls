# A minion (re)started: sync the formula's modules to it (state.apply <sls> does not), then
# check its encrypted mail store and notify the admin when it is locked. The work is in the
# runner (_runners/mailserver.py); this file only hands over the minion's id.
mailserver-reactor-minion-start:
  runner.mailserver.on_minion_start:
    - args:
      - minion: {{ data["id"] | json }}
