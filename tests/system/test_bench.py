"""The benchmark's smoke run: ``make bench``'s parts at a small size against the lab, so its
code cannot rot, and what it reports holds (figures are ``make bench``'s job, not a test's).
"""

from __future__ import annotations

from tests.bench import accounts, run


def test_the_benchmark_runs_small_and_reports_what_holds(lab, capsys):
    acc = accounts.run(200, 20, conf_dir=lab.conf_dir, highstates=False)
    # the accounts' state did the work once, then had nothing to do; the removal undid it
    # (the settings snapshot holds the number of mailboxes: it changes with them)
    synced = ["mailserver-accounts-synced", "mailserver-base-config-snapshot"]
    assert acc["first_sync_detail"]["changed"] == synced, acc
    assert acc["noop_sync_detail"]["changed"] == [], acc
    assert acc["removal_detail"]["changed"] == synced, acc
    assert acc["per_mailbox_measured"]["first"] > 0
    gone = lab.sh("mx1", "mariadb mailserver -N -e \"SELECT COUNT(*) FROM virtual_users "
                  "WHERE email LIKE 'bench%' OR email LIKE 'pm%'\"")  # fmt: skip
    assert gone.stdout.strip() == "0"

    st = run.store(run.SMOKE)
    for name in ("plain", "encfs"):
        b = st["backends"][name]
        assert b["delivered"] > 0 and b["refused"] == 0, b
        assert b["imap"]["sessions"] > 0 and b["imap"]["failed"] == 0, b
    # the word of one message, found once by the scan and once through the index
    for key in ("BODY", "TEXT"):
        assert st["scan"][key]["hits"] == st["indexed"][key]["hits"] == 1, st
    assert st["index_bytes"] > 0

    conv = {"fresh": False, "noop": 0.0, "noop_changed": []}
    run.report(conv, acc, st)
    out = capsys.readouterr().out
    assert "## The store's backends" in out and "SEARCH BODY" in out
