"""``make bench``: the benchmarks in the lab, each against the baseline a user would otherwise
pick, measured in the same run; figures are ratios (the machines are noisy), absolute
seconds beside them.

    python -m tests.bench.run [--mailboxes N] [--smoke] [--more]

1. Converge (tests/bench/run.py): a fresh host from the minimal image to a working mail
   host, the way ``make demo`` does it (the store initialized when the state asks), with
   the slowest ten states; then a highstate with nothing to change. Measured when the
   bench brings the lab up itself (``make lab-down`` first); a running lab is used as it is.
2. Accounts at scale (tests/bench/accounts.py): N mailboxes and N/10 aliases in pillar
   against one state per mailbox, as other formulas keep them.
3. The store's backends and search (tests/bench/store.py, inside mx1): delivery and IMAP
   reading on EncFS, gocryptfs and plain disk; body search without and with the full-text
   index.
4. With ``--more``: spam filters, the inbound pipeline, the webmail (their own baselines).

``--smoke`` runs every part at a size that takes about two minutes (the system tests run
it, so the benchmark's code cannot rot); a failure names the failing state or step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from lab import config, container, lab, mailhost, master
from tests.bench import accounts, pipeline, webmail

FULL = {"mailboxes": 10000, "base": 1000, "seconds": 20, "clients": 50, "messages": 1000}
SMOKE = {"mailboxes": 200, "base": 20, "seconds": 2, "clients": 5, "messages": 100}


class BenchError(RuntimeError):
    pass


def slowest(*returns: dict, count: int = 10) -> list[tuple[str, float]]:
    """The states that took longest over one or more state returns (seconds, by state ID)."""
    took: dict[str, float] = {}
    for states in returns:
        for key, v in (states or {}).items():
            sid = v.get("__id__", key)
            took[sid] = took.get(sid, 0.0) + float(v.get("duration") or 0) / 1000
    return sorted(took.items(), key=lambda kv: -kv[1])[:count]


def converge() -> dict:
    """Bring the lab up if it is down and converge mx1 as ``make demo`` does."""
    fresh = lab.status().get("mx1") != "running"
    if fresh:
        lab.up(master.demo_start)
        master.wait_ping(master.DEMO_DIR, "mx1")
    passes: list[dict] = []
    start = time.monotonic()
    rc, data = mailhost.converge(master.DEMO_DIR, "mx*", passes)
    took = time.monotonic() - start
    for minion, states in data.items():
        bad = accounts.failed(states)
        if (rc != 0 and bad) or not isinstance(states, dict):
            raise BenchError(f"the highstate failed on {minion}: {bad}")
    if rc != 0:
        raise BenchError(f"the highstate exited {rc} without a failing state")
    start = time.monotonic()
    rc, data = master.apply(master.DEMO_DIR, "mx1")
    noop = time.monotonic() - start
    changed = sorted(v["__id__"] for v in data["mx1"].values() if v["changes"])
    return {
        "fresh": fresh,
        "seconds": took,
        "states": len(data.get("mx1") or {}),
        "slowest": slowest(*(p.get("mx1") for p in passes)),
        "noop": noop,
        "noop_changed": changed,
    }


def store(size: dict) -> dict:
    container.sh(
        "mx1",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q gocryptfs dovecot-fts-xapian"
        " >/dev/null",
        timeout=600,
    )
    script = (config.REPO / "tests/bench/store.py").read_text()
    args = [str(size[k]) for k in ("seconds", "clients", "messages")]
    proc = container.exec_("mx1", "python3", "-", *args, input=script, timeout=3600, check=False)
    if proc.returncode != 0:
        raise BenchError(f"the store benchmark failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def _ms(seconds) -> str:
    return "failed" if seconds is None else f"{seconds * 1000:.0f} ms"


def report(conv: dict, acc: dict, st: dict) -> None:
    print("\n## Converge (mx1, through the master)")
    if conv["fresh"]:
        print(f"fresh host to working mail host: {conv['seconds']:.0f} s, {conv['states']} states")
        print("slowest states (seconds, both passes):")
        for sid, secs in conv["slowest"]:
            print(f"  {secs:7.1f}  {sid}")
    else:
        print("(the lab was already up: `make lab-down` first to measure a fresh converge)")
    print(
        f"highstate with nothing to change: {conv['noop']:.1f} s, changes: "
        f"{conv['noop_changed'] or 'none'}"
    )

    n = acc["mailboxes"]
    print(f"\n## Accounts: {n} mailboxes and {acc['aliases']} aliases in pillar")
    print(f"{'case':52} {'formula':>9} {'1 state/mailbox':>16} {'ratio':>7}")
    for label, ours, theirs in (
        ("first sync (state.apply mailserver.accounts)", "first_sync", "per_mailbox_first"),
        ("sync with nothing to change", "noop_sync", "per_mailbox_noop"),
    ):
        print(f"{label:52} {acc[ours]:8.1f}s {acc[theirs]:15.1f}s {acc[theirs] / acc[ours]:6.1f}x")
    print(
        f"(one state per mailbox: {acc['baseline_mailboxes']} measured, their states' time "
        f"scaled to {n}: "
        f"{acc['per_mailbox_measured']['first']:.1f} s and "
        f"{acc['per_mailbox_measured']['noop']:.1f} s)"
    )
    if "noop_highstate" in acc:
        ratio = acc["noop_highstate"] / acc["noop_highstate_example"]
        print(
            f"whole highstate, nothing to change: {acc['noop_highstate']:.1f} s with {n} "
            f"mailboxes, {acc['noop_highstate_example']:.1f} s with the example pillar: "
            f"{ratio:.2f}x (goal: at most 3x)"
        )
    print(f"removing them again: {acc['removal']:.1f} s")
    if "example_sync" in acc:
        print(
            f"(state.apply mailserver.accounts with the example pillar, nothing to change: "
            f"{acc['example_sync']:.1f} s: Salt's own part of the figures above)"
        )

    print(f"\n## The store's backends (one Dovecot on mx1; {st['seconds']} s each)")
    plain = st["backends"]["plain"]
    print(
        f"{'backend':10} {'LMTP/s':>8} {'x plain':>8} {'refused':>8} "
        f"{'IMAP p50':>9} {'p99':>8} {'x plain':>8} {'sessions':>9} {'failed':>7} "
        f"{'errors':>7}"
    )
    for name, b in st["backends"].items():
        imap = b["imap"]
        slower = imap["p50"] / plain["imap"]["p50"] if imap["p50"] else float("nan")
        print(
            f"{name:10} {b['per_second']:8.0f} {b['per_second'] / plain['per_second']:8.2f} "
            f"{b['refused']:8} {_ms(imap['p50']):>9} {_ms(imap['p99']):>8} {slower:8.2f} "
            f"{imap['sessions']:9} {imap['failed']:7} {b['errors_logged']:7}"
        )
    for name, b in st["backends"].items():
        if b["first_error"]:
            print(f"  {name}: {b['first_error'][:200]}")
    print(f"({st['clients']} IMAP clients at once: login, SELECT, 200 headers, 20 bodies)")

    print(f"\n## Body search, {st['messages']} messages in one mailbox on EncFS")
    for key in ("BODY", "TEXT"):
        scan, idx = st["scan"][key], st["indexed"][key]
        print(
            f"SEARCH {key:5} without index {_ms(scan['seconds']):>9}, with fts-xapian "
            f"{_ms(idx['seconds']):>7}: {scan['seconds'] / idx['seconds']:6.0f}x "
            f"({scan['hits']}/{idx['hits']} hits)"
        )
    print(
        f"building the index: {st['index_seconds']:.0f} s "
        f"({st['index_seconds'] / st['messages'] * 1000:.0f} ms a message); index "
        f"{st['index_bytes'] / 1e6:.1f} MB for {st['mailbox_bytes'] / 1e6:.1f} MB of mail "
        f"({st['index_bytes'] / st['mailbox_bytes']:.1f}x)"
    )


def more() -> None:
    script = (config.REPO / "tests/bench/spam_filters.py").read_text()
    proc = container.exec_("mx1", "python3", "-", "300", input=script, timeout=1800)
    spam = json.loads(proc.stdout)
    ratio = spam["rspamd_per_second_per_core"] / spam["spamassassin_per_second_per_core"]
    print(f"\n## Spam filters, {spam['messages']} generated messages, {spam['cores']} cores")
    for name in ("rspamd", "spamassassin"):
        print(
            f"  {name:14} {spam[name + '_seconds']:8.1f} s  "
            f"{spam[name + '_per_second_per_core']:8.1f} messages/s per core"
        )
    print(f"  rspamd / SpamAssassin (the baseline): {ratio:.1f}x")
    flow = pipeline.run()
    print("\n## Inbound pipeline, 8 connections from the peer for 120 s each")
    for name, label in (
        ("bare", "bare Postfix -> Dovecot LMTP, plain disk (mx2)"),
        ("formula", "the formula's whole path into the store (mx1)"),
    ):
        r = flow[name]
        print(
            f"  {label:48} {r['per_second']:6.1f}/s accepted, {r['delivered']}/"
            f"{r['accepted']} delivered (all after {r['drained_after']:.0f} s; "
            f"{r['deferred']} deferred, {r['refused']} refused, {r['errors']} errors)"
        )
    print(f"  formula / bare (the baseline): {flow['ratio']:.2f}")
    web = webmail.run()
    print(f"\n## Webmail, {web['messages']} messages in the inbox, median of {web['runs']} logins")
    print(f"  login form -> rendered inbox in Chromium   {web['webmail_median'] * 1000:7.0f} ms")
    print(f"  IMAP connect, login, SELECT (the baseline) {web['imap_median'] * 1000:7.0f} ms")
    print(f"  webmail / IMAP: {web['ratio']:.1f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mailboxes", type=int, help="mailboxes in pillar (default 10000)")
    parser.add_argument("--smoke", action="store_true", help="every part, small (~2 min)")
    parser.add_argument("--more", action="store_true", help="spam, pipeline and webmail too")
    args = parser.parse_args(argv)
    size = dict(SMOKE if args.smoke else FULL)
    if args.mailboxes:
        size["mailboxes"], size["base"] = args.mailboxes, max(10, min(1000, args.mailboxes // 10))
    start = time.monotonic()
    try:
        conv = converge()
        acc = accounts.run(size["mailboxes"], size["base"])
        st = store(size)
    except (BenchError, RuntimeError) as exc:
        print(f"make bench: {exc}", file=sys.stderr)
        return 1
    report(conv, acc, st)
    if args.more:
        more()
    print(f"\n(make bench took {time.monotonic() - start:.0f} s; the lab stays up: make lab-down)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
