"""Load: 50 SMTP sessions from the peer (STARTTLS on port 25, over IPv4 and IPv6) for two
minutes while 50 IMAP clients log in, select and fetch on the encrypted store. No error
reply, no dropped connection, nothing lost. The figures (messages per second, IMAP p50 and
p99) are recorded in the run's summary table ``load``, not asserted: the machine is shared.

``MSLAB_LOAD_SECONDS`` shortens the run (the default is the two minutes asked for)."""

from __future__ import annotations

import json
import os
import statistics

import pytest

from lab import config, container
from lab.until import until
from tests.system.conftest import report_row
from tests.system.mailclients import FAMILIES, PASSWORDS, tag

SECONDS = float(os.environ.get("MSLAB_LOAD_SECONDS", "120"))
SESSIONS = 50
COLUMNS = ("what", "figure")


def _count(lab, subject: str) -> dict[int, int]:
    """How many times each numbered message is in its recipient's mailboxes."""
    found: dict[int, int] = {}
    for user in PASSWORDS:
        out = lab.sh(
            "mx1",
            f"doveadm fetch -u {user} hdr.subject mailbox '*' header subject {subject}",
            check=False,
        ).stdout
        for line in out.splitlines():
            if f"{subject} #" in line:
                n = int(line.rsplit("#", 1)[1])
                found[n] = found.get(n, 0) + 1
    return found


@pytest.mark.xfail(
    reason="open (issue 14): a few IMAPS handshakes time out (60 s) under this load on two "
    "cores; nothing is lost, the cause (server or load generator) is not found yet",
    strict=False,
)
def test_fifty_smtp_and_fifty_imap_clients_at_once_lose_nothing(mail):
    subject = tag("load")
    proc = container.exec_(
        "peer",
        "python3",
        f"{config.PEER_PROBES}/load.py",
        "--hosts",
        ",".join(FAMILIES.values()),
        "--to",
        ",".join(PASSWORDS),
        "--tag",
        subject,
        "--smtp",
        str(SESSIONS),
        "--imap",
        str(SESSIONS),
        "--seconds",
        str(SECONDS),
        input=json.dumps(PASSWORDS),
        timeout=SECONDS + 600,
    )
    out = json.loads(proc.stdout)
    sent = set(out["sent"])
    assert len(sent) > SESSIONS, "the senders hardly sent anything"

    # everything accepted reaches its mailbox, once (mx1 may still be delivering; its queue
    # flushed meanwhile, as its next retry would)
    def all_there():
        mail.sh("mx1", "postqueue -f", check=False)
        f = _count(mail, subject)
        return f if len(f) >= len(sent) else None

    found = until(
        all_there,
        "every accepted message in its mailbox",
        timeout=300,
        interval=5,
    )
    assert set(found) == sent, sorted(sent - set(found))[:20]
    assert all(c == 1 for c in found.values()), "duplicates"
    latencies = sorted(out["imap_ms"])
    assert latencies, "no IMAP cycle completed"
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    for what, figure in (
        ("seconds", out["seconds"]),
        ("messages accepted", len(sent)),
        ("messages per second", round(len(sent) / out["seconds"], 1)),
        ("IMAP cycles", len(latencies)),
        ("IMAP cycle p50 (ms)", statistics.median(latencies)),
        ("IMAP cycle p99 (ms)", p99),
        ("errors and dropped connections", len(out["errors"])),
        ("lost", len(sent - set(found))),
    ):
        report_row("load", COLUMNS, {"what": what, "figure": figure})
    assert out["errors"] == [], out["errors"][:20]
