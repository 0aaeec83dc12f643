"""``make bench CLUSTER=1``: what a second mail host costs in time, each figure against
direct delivery to the primary measured in the same round (the machines are noisy: ratios).

The lab of tests/system/test_multihost.py (mx1 the primary, mx2 a backup MX and replica).
Each round the peer's own Postfix sends ``MSBENCH_MESSAGES`` numbered messages (default 10)
to alice, and each host's store is looked at every 50 ms, on the host itself, for their
files in her INBOX's Maildir (the lab's containers share one clock):

- direct: from the send to all of them in the INBOX on mx1 (the baseline);
- replica: from the same send to all of them in the INBOX on mx2 (replication's lag is the
  difference);
- hand-over: with mx1's Postfix stopped, the messages sent and held in mx2's queue; from
  mx1's Postfix started again to all of them in the INBOX on mx1 (the backup MX's retry,
  10 s at first and at most 30 s apart, is most of it).

Not collected by ``make test`` (the file name); run by ``make bench CLUSTER=1``.
"""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from lab.until import until
from tests.system.test_multihost import RUN, USER, cluster, numbered, queued_on  # noqa: F401

ROUNDS = int(os.environ.get("MSBENCH_ROUNDS", "3"))
MESSAGES = int(os.environ.get("MSBENCH_MESSAGES", "10"))


def arrived(lab, host: str, tag: str, count: int, timeout: int = 180) -> float:
    """When (the lab's clock, epoch seconds) ``count`` messages of ``tag`` were all in
    alice's INBOX on ``host``: their files in its Maildir, looked for every 50 ms in the
    store itself. Not through Dovecot: with a doveadm search every 50 ms on the replica the
    messages did not show there within 3 minutes in two runs (the cause is not established;
    such searches update the user's index on the replica while dsync writes to it)."""
    location = lab.sh(host, f"doveadm user -f mail {USER}").stdout.strip()
    maildir = location.split(":")[1]  # maildir:<path>:VOLATILEDIR=...
    files = f"grep -lF -- 'Message-ID: <{tag}.' {maildir}/new/* {maildir}/cur/* 2>/dev/null"
    script = (
        f"end=$(( $(date +%s) + {timeout} ))\n"
        f'while [ "$({files} | wc -l)" -lt {count} ]; do\n'
        # at the deadline: which files there are
        f'  [ "$(date +%s)" -lt "$end" ] || {{ {files}; exit 1; }}\n'
        "  sleep 0.05\n"
        "done\n"
        "date +%s.%N"
    )
    return float(lab.sh(host, script, timeout=timeout + 30).stdout)


def one_round(lab, n: int) -> dict:
    tag = f"{RUN}-bench{n}"
    with ThreadPoolExecutor(2) as pool:
        on = {host: pool.submit(arrived, lab, host, tag, MESSAGES) for host in ("mx1", "mx2")}
        sent = time.time()
        numbered(lab, tag, range(1, MESSAGES + 1))
        direct = on["mx1"].result() - sent
        replica = on["mx2"].result() - sent

    held = f"{RUN}-bench{n}-held"
    lab.sh("mx1", "systemctl stop postfix")
    try:
        numbered(lab, held, range(1, MESSAGES + 1))
        until(lambda: queued_on(lab, "mx2", held) == MESSAGES, "mx2 to hold them", 120, 1)
    except BaseException:
        lab.sh("mx1", "systemctl start postfix")
        raise
    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(arrived, lab, "mx1", held, MESSAGES)
        back = time.time()
        lab.sh("mx1", "systemctl start postfix")
        handover = done.result() - back
    # each message once: none counted twice above
    for host, t in (("mx1", tag), ("mx2", tag), ("mx1", held)):
        assert found(lab, host, t) == MESSAGES, (host, t, found(lab, host, t))
    return {"direct": direct, "replica": replica, "handover": handover}


def found(lab, host: str, tag: str) -> int:
    """How many messages of ``tag`` alice's INBOX on ``host`` holds."""
    out = lab.sh(host, f"doveadm search -u {USER} mailbox INBOX header message-id '{tag}.'")
    return len(out.stdout.splitlines())  # a line a message: its mailbox GUID and UID


def test_bench_cluster(cluster):  # noqa: F811
    rows = [one_round(cluster, n) for n in range(1, ROUNDS + 1)]
    print(f"\n## Two mail hosts: {MESSAGES} messages from the peer, {ROUNDS} rounds")
    head = ("round", "direct", "replica", "x direct", "hand-over", "x direct")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (5, 8, 8, 9, 10, 9), strict=True)))
    for n, r in enumerate(rows, 1):
        print(
            f"{n:5} {r['direct']:7.2f}s {r['replica']:7.2f}s {r['replica'] / r['direct']:8.2f}x"
            f" {r['handover']:9.2f}s {r['handover'] / r['direct']:8.1f}x"
        )
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    ratio = {k: statistics.median(r[k] / r["direct"] for r in rows) for k in rows[0]}
    print(
        f"median: direct {med['direct']:.2f} s; readable on the replica {med['replica']:.2f} s"
        f" ({ratio['replica']:.2f}x direct, lag {med['replica'] - med['direct']:.2f} s);"
        f" held on the backup MX, in the INBOX {med['handover']:.1f} s after the primary's"
        f" return ({ratio['handover']:.1f}x direct)"
    )
    assert all(r["replica"] > 0 and r["handover"] > 0 for r in rows), rows
