# A backup run on a minion failed (its target unreachable, the repository refused, ...):
# tell the admin through the channels of mailserver:notify. The work is in the runner
# (_runners/mailserver.py); this file only hands over what the minion said.
mailserver-reactor-backup-failed:
  runner.mailserver.backup_failed:
    - args:
      - minion: {{ data["id"] | json }}
      - detail: {{ data["data"].get("detail", "") | json }}
