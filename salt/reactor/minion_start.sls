# A minion (re)started: give it this formula's custom modules before anything else runs,
# since `state.apply <sls>` does not sync them (only a highstate does).
mailserver-reactor-minion-start-sync-all:
  local.saltutil.sync_all:
    - tgt: {{ data["id"] | json }}
