# The upgrade guard on a minion found mail broken after unattended-upgrades installed
# something: tell the admin through the channels of mailserver:notify. The work is in the
# runner (_runners/mailserver.py); this file only hands over what the minion said.
mailserver-reactor-upgrade-failed:
  runner.mailserver.upgrade_failed:
    - args:
      - minion: {{ data["id"] | json }}
      - packages: {{ data["data"].get("packages", []) | json }}
      - failed: {{ data["data"].get("failed", []) | json }}
