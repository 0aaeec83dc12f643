"""What `make demo` shows at the end: that mail works on mx1, as the outside world sees it.

A message from the peer is delivered to alice@example.com and read back over IMAPS; a
message alice submits to the peer arrives DKIM-signed, and the peer's OpenDKIM verifies the
signature against the key published in the lab's DNS (published first, as an admin
publishes what `mailserver_dns.records` prints)."""

from __future__ import annotations

import email
import re
import time
import uuid
from pathlib import Path

from . import config, container, dns, master
from .probe import PORTS, probe
from .until import until

ALICE, PASSWORD = "alice@example.com", "alice-demo-pass"


def mail_works(conf_dir: Path) -> list[str]:
    """The proof, a line per fact; raises (lab.until.Timeout) when mail does not work."""
    mx1, peer = config.HOSTS["mx1"], config.HOSTS["peer"]
    records = master.salt(conf_dir, "mx1", "mailserver_dns.records", "--out=json")
    dns.publish(master.json_docs(records.stdout)["mx1"], serial=int(time.time()))

    inbound = f"demo-in-{uuid.uuid4().hex[:8]}"
    sent = probe(
        "smtp", "--host", mx1.ip4, "--port", str(PORTS["smtp"]), "--starttls",
        "--helo", peer.fqdn, "--mail-from", "someone@example.net", "--to", ALICE,
        "--subject", inbound,
    )  # fmt: skip
    if not sent.get("ok"):
        raise RuntimeError(f"mx1 refused the peer's message: {sent}")

    def read():
        ret = probe(
            "imap", "--host", mx1.ip6, "--port", str(PORTS["imaps"]), "--ssl",
            "--user", ALICE, "--folder", "INBOX", "--subject", inbound, password=PASSWORD,
        )  # fmt: skip
        return ret.get("messages")

    until(read, f"{inbound} in {ALICE}'s INBOX", 30, interval=1)

    outbound = f"demo-out-{uuid.uuid4().hex[:8]}"
    submitted = probe(
        "smtp", "--host", mx1.ip4, "--port", str(PORTS["submission"]), "--starttls",
        "--user", ALICE, "--mail-from", ALICE, "--to", "sink@example.net",
        "--subject", outbound, password=PASSWORD,
    )  # fmt: skip
    if not submitted.get("ok"):
        raise RuntimeError(f"mx1 refused alice's submission: {submitted}")

    def verdict():
        box = container.sh("peer", "cat /var/mail/sink", check=False).stdout
        for raw in ("\n" + box).split("\nFrom ")[1:]:  # mbox: each message starts "From "
            msg = email.message_from_string(raw.split("\n", 1)[1])
            if msg["Subject"] == outbound:
                results = " ".join(" ".join(str(v).split()) for v in msg.get_all(
                    "Authentication-Results", []))  # fmt: skip
                return results if "dkim=" in results else None
        return None

    result = until(verdict, f"{outbound} at the peer, judged", 30, interval=1)
    dkim = re.search(r"dkim=(\w+).*?(header\.d=\S+).*?(header\.s=\S+)", result)
    if not dkim or dkim.group(1) != "pass":
        raise RuntimeError(f"the peer did not verify alice's DKIM signature: {result}")
    return [
        f"a message from the peer to {ALICE}: delivered, read back over IMAPS ({mx1.ip6})",
        f"a message {ALICE} submitted to the peer: signed, and the peer's OpenDKIM says "
        f"dkim=pass {dkim.group(2)} {dkim.group(3)}",
    ]
