"""Load: 50 SMTP sessions from the peer (STARTTLS on port 25, over IPv4 and IPv6) for two
minutes while 50 IMAP clients log in, select and fetch on the encrypted store. No error
reply, no dropped connection, nothing lost. The figures (messages per second, IMAP p50 and
p99) are recorded in the run's summary table ``load``, not asserted: the machine is shared;
each comes with its ratio to a baseline measured just before in the same run (one SMTP
session alone; the IMAP clients without the SMTP load).

``MSLAB_LOAD_SECONDS`` shortens the run (the default is the two minutes asked for)."""

from __future__ import annotations

import json
import os
import statistics

from lab import config, container
from lab.until import until
from tests.system.conftest import report_row
from tests.system.mailclients import FAMILIES, PASSWORDS, tag

SECONDS = float(os.environ.get("MSLAB_LOAD_SECONDS", "120"))
SESSIONS = 50
BASELINE_SECONDS = min(20.0, SECONDS)  # each baseline: the IMAP clients alone, one SMTP session
COLUMNS = ("what", "figure")


def _p50_p99(latencies: list[float]) -> tuple[float, float]:
    assert latencies, "no IMAP cycle completed"
    return statistics.median(latencies), latencies[
        min(len(latencies) - 1, int(len(latencies) * 0.99))
    ]


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


def _load(subject: str, smtp: int, imap: int, seconds: float) -> dict:
    """Run the load generator on the peer; its JSON report."""
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
        str(smtp),
        "--imap",
        str(imap),
        "--seconds",
        str(seconds),
        input=json.dumps(PASSWORDS),
        timeout=seconds + 600,
    )
    return json.loads(proc.stdout)


def _why_twice(lab, subject: str, numbers: list[int]) -> str:
    """What mx1's journal says of the first messages delivered more than once: Postfix's
    queue ids for their Message-IDs, then every line of those queue ids and Dovecot's
    errors (a reply lost after the save, an index the store corrupted...)."""
    ids = "\n".join(f"<{subject}.{n}@peer>" for n in numbers[:5])
    script = (
        f"printf '{ids}\\n' > /tmp/twice.ids; "
        "journalctl -q -o cat -t postfix/cleanup | grep -F -f /tmp/twice.ids "
        "| cut -d: -f1 | sort -u > /tmp/twice.qids; "
        "journalctl -q -o short-precise | grep -F -f /tmp/twice.qids; "
        "journalctl -q -o short-precise -u dovecot -p warning | tail -20"
    )
    out = lab.sh("mx1", script, check=False).stdout
    return f"{len(numbers)} delivered more than once ({numbers[:20]}):\n{out[-6000:]}"


def test_fifty_smtp_and_fifty_imap_clients_at_once_lose_nothing(mail):
    subject = tag("load")
    # the baselines, in the same run: the IMAP clients alone, then one SMTP session alone
    alone = _load(subject, 0, SESSIONS, BASELINE_SECONDS)
    single_subject = tag("single")
    single = _load(single_subject, 1, 0, BASELINE_SECONDS)
    out = _load(subject, SESSIONS, SESSIONS, SECONDS)
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
    twice = sorted(n for n, c in found.items() if c > 1)
    assert not twice, _why_twice(mail, subject, twice)

    until(
        lambda: _count(mail, single_subject) == dict.fromkeys(single["sent"], 1),
        "the single session's messages, each once",
        timeout=60,
        interval=5,
    )
    latencies = sorted(out["imap_ms"])
    p50, p99 = _p50_p99(latencies)
    base50, base99 = _p50_p99(sorted(alone["imap_ms"]))
    errors = alone["errors"] + single["errors"] + out["errors"]
    rate = len(sent) / out["seconds"]
    single_rate = len(single["sent"]) / single["seconds"]
    for what, figure in (
        ("seconds", out["seconds"]),
        ("messages accepted", len(sent)),
        ("messages per second", round(rate, 1)),
        ("  x one SMTP session alone", round(rate / single_rate, 1)),
        ("IMAP cycles", len(latencies)),
        ("IMAP cycle p50 (ms)", p50),
        ("  x the IMAP clients alone", round(p50 / base50, 1)),
        ("IMAP cycle p99 (ms)", p99),
        ("  x the IMAP clients alone", round(p99 / base99, 1)),
        ("errors and dropped connections", len(errors)),
        ("lost", len(sent - set(found))),
    ):
        report_row("load", COLUMNS, {"what": what, "figure": figure})
    assert errors == [], errors[:20]
