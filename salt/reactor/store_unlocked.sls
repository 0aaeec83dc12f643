# A mail store was unlocked: restart the services that use it, in order, and report.
mailserver-reactor-store-unlocked:
  runner.mailserver.restart_dependents:
    - args:
      - minion: {{ data["id"] | json }}
