"""Run on the peer (Debian's python3): send mail to one host's port 25 from several
connections at once for a while; print JSON (sent, accepted, refused, seconds).

argv: host, recipient, seconds, connections, tag. Each connection sends message after message
in one session (RSET between), as a busy relay does; every message carries the tag in its
Subject so the receiver can count what arrived.
"""

from __future__ import annotations

import json
import smtplib
import sys
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate

BODY = (
    "Hello,\n\nthe minutes of Tuesday's meeting are below. We agreed to move the release to "
    "the second week of the month, to keep the old importer for one more cycle and to ask "
    "the printer for a new quote. Please send corrections by Friday.\n\n"
) * 8


def main() -> int:
    host, rcpt, seconds, conns, tag = sys.argv[1:6]
    seconds, conns = float(seconds), int(conns)
    counts = {"sent": 0, "accepted": 0, "refused": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(n: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            try:
                with smtplib.SMTP(host, 25, timeout=60, local_hostname="peer.example.net") as s:
                    while time.monotonic() < deadline:
                        msg = EmailMessage()
                        msg["From"] = "load@example.net"
                        msg["To"] = rcpt
                        msg["Subject"] = f"{tag} {n}-{i}"
                        msg["Date"] = formatdate()
                        msg["Message-ID"] = f"<{tag}-{n}-{i}@example.net>"
                        msg.set_content(BODY)
                        i += 1
                        try:
                            s.send_message(msg, "load@example.net", [rcpt])
                            key = "accepted"
                        except smtplib.SMTPResponseException:
                            key = "refused"
                        with lock:
                            counts["sent"] += 1
                            counts[key] += 1
                        s.rset()
            except (OSError, smtplib.SMTPException):
                with lock:
                    counts["errors"] += 1
                time.sleep(0.5)  # a refused connection: try again, not in a tight loop

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts["seconds"] = time.monotonic() - start
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
