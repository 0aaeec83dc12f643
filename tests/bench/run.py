"""``make bench``: the benchmarks in the lab, reported as ratios to a baseline measured in
the same run (the machines are noisy; absolute seconds are shown too).

Brings the lab up (cached images), applies the highstate through the demo master, then runs
inside mx1: tests/bench/accounts_sync.py with Salt's own Python (the accounts' sync against
re-syncing an unchanged set), and tests/bench/spam_filters.py with Debian's (rspamd's
throughput against SpamAssassin's on one generated corpus); then the inbound pipeline
against bare Postfix and Dovecot (tests/bench/pipeline.py), and the webmail's login against
IMAP's (tests/bench/webmail.py).
"""

from __future__ import annotations

import json
import sys

from lab import config, container, lab, mailhost, master
from tests.bench import pipeline, webmail


def main() -> int:
    n = sys.argv[1] if len(sys.argv) > 1 else "10000"

    if lab.status().get("mx1") != "running":
        lab.up(master.demo_start)
        master.wait_ping(master.DEMO_DIR, "mx1")
    # converge as make demo does (the store initialized or unlocked when the state asks)
    rc, data = mailhost.converge(master.DEMO_DIR, "mx*")
    states = data.get("mx1")
    failed = (
        {v["__id__"]: v["comment"] for v in states.values() if not v["result"]}
        if isinstance(states, dict)
        else {"(render)": states}
    )
    if rc != 0 or failed:
        print("the highstate failed:", json.dumps(failed, indent=1)[:3000])
        return 1
    script = (config.REPO / "tests/bench/accounts_sync.py").read_text()
    proc = container.exec_("mx1", "/opt/salt/bin/python", "-", n, input=script, timeout=1800)
    results = json.loads(proc.stdout)
    base = results["baseline: 3 mailboxes, nothing to change"]["seconds"]
    print(f"{'case':62} {'seconds':>9} {'x baseline':>11}  operations")
    for name, r in results.items():
        ops = ", ".join(f"{k} {v}" for k, v in r["ops"].items()) or "-"
        print(f"{name:62} {r['seconds']:9.3f} {r['seconds'] / base:11.1f}  {ops}")
    print("(baseline: re-syncing the 3-mailbox set with nothing to change)")

    script = (config.REPO / "tests/bench/spam_filters.py").read_text()
    proc = container.exec_("mx1", "python3", "-", "300", input=script, timeout=1800)
    spam = json.loads(proc.stdout)
    ratio = spam["rspamd_per_second_per_core"] / spam["spamassassin_per_second_per_core"]
    print(f"\nspam filters, {spam['messages']} generated messages, {spam['cores']} cores:")
    for name in ("rspamd", "spamassassin"):
        print(
            f"  {name:14} {spam[name + '_seconds']:8.1f} s  "
            f"{spam[name + '_per_second_per_core']:8.1f} messages/s per core"
        )
    print(f"  rspamd / SpamAssassin (the baseline): {ratio:.1f}x")

    flow = pipeline.run()
    print("\ninbound pipeline, 8 connections from the peer for 120 s each:")
    for name, label in (("bare", "bare Postfix -> Dovecot LMTP, plain disk (mx2)"),
                        ("formula", "the formula's whole path into the store (mx1)")):  # fmt: skip
        r = flow[name]
        print(
            f"  {label:48} {r['per_second']:6.1f}/s accepted, {r['delivered']}/{r['accepted']} "
            f"delivered (all after {r['drained_after']:.0f} s; {r['deferred']} deferred on "
            f"the way, {r['refused']} refused, {r['errors']} connection errors)"
        )
    print(f"  formula / bare (the baseline): {flow['ratio']:.2f}")
    web = webmail.run()
    print(f"\nwebmail, {web['messages']} messages in the inbox, median of {web['runs']} logins:")
    print(f"  login form -> rendered inbox in Chromium   {web['webmail_median'] * 1000:7.0f} ms")
    print(f"  IMAP connect, login, SELECT (the baseline) {web['imap_median'] * 1000:7.0f} ms")
    print(f"  webmail / IMAP: {web['ratio']:.1f}x")
    print("(the lab stays up: make lab-down)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
