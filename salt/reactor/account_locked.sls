# A mailbox was locked on a minion (past a hard sending limit: a stolen password, most
# likely): tell the admin through the channels of mailserver:notify. The work is in the runner
# (_runners/mailserver.py); this file only hands over what the minion said.
mailserver-reactor-account-locked:
  runner.mailserver.account_locked:
    - args:
      - minion: {{ data["id"] | json }}
      - address: {{ data["data"]["address"] | json }}
      - reason: {{ data["data"].get("reason", "") | json }}
