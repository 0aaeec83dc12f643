"""Load from the peer: SMTP senders and IMAP readers at once, for a bounded time.

Each SMTP session (STARTTLS on port 25, as MTAs send) sends numbered messages one after
another on its connection, a new connection every 20 messages; each IMAP client logs in
over IMAPS, selects INBOX, fetches the headers of the newest 20 messages and one whole
message, logs out, and starts again. Prints JSON: messages sent, every error reply or
dropped connection, and each IMAP cycle's duration.

usage: load.py --hosts ADDR[,ADDR] --to RCPT[,RCPT] --tag TAG [--smtp 50] [--imap 50]
               [--seconds 120]   < {"user": "password", ...}  (JSON, never on argv)"""

from __future__ import annotations

import argparse
import email.utils
import imaplib
import json
import smtplib
import ssl
import sys
import threading
import time

LOCK = threading.Lock()


def _ctx() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False  # the lab's certificate is self-signed; the load is the point
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# one context for every connection, as a client program keeps one: making one per connection
# loads the CA store each time, CPU the generator would take from the host under test
CTX = _ctx()


def sender(i: int, args, end: float, out: dict) -> None:
    host = args.hosts[i % len(args.hosts)]
    rcpt = args.to[i % len(args.to)]
    while time.monotonic() < end:
        try:
            with smtplib.SMTP(host, 25, timeout=60, local_hostname="peer.example.net") as s:
                s.starttls(context=CTX)
                s.ehlo("peer.example.net")
                for _ in range(20):
                    if time.monotonic() >= end:
                        break
                    with LOCK:
                        out["number"] += 1
                        n = out["number"]
                    msg = (
                        f"From: <load@example.net>\r\nTo: <{rcpt}>\r\n"
                        f"Subject: {args.tag} #{n}\r\nMessage-ID: <{args.tag}.{n}@peer>\r\n"
                        f"Date: {email.utils.formatdate()}\r\n"
                        f"\r\nload message {n}\r\n"
                    )
                    try:
                        s.sendmail("load@example.net", [rcpt], msg)
                        with LOCK:
                            out["sent"].append(n)
                    except smtplib.SMTPResponseException as exc:
                        with LOCK:
                            out["errors"].append(f"smtp {n}: {exc.smtp_code} {exc.smtp_error!r}")
                    except smtplib.SMTPRecipientsRefused as exc:
                        with LOCK:
                            out["errors"].append(f"smtp {n}: refused {exc.recipients!r}")
        except (OSError, smtplib.SMTPException) as exc:
            with LOCK:
                out["errors"].append(f"smtp session {i}: {type(exc).__name__}: {exc}")
            time.sleep(1)


def reader(i: int, args, end: float, out: dict) -> None:
    host = args.hosts[i % len(args.hosts)]
    user, password = args.users[i % len(args.users)]
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            conn = imaplib.IMAP4_SSL(host, 993, ssl_context=CTX, timeout=60)
            conn.login(user, password)
            typ, data = conn.select("INBOX", readonly=True)
            count = int(data[0]) if typ == "OK" else 0
            if count:  # as a client opens a mailbox: the newest 20's headers, then one message
                conn.fetch(
                    f"{max(1, count - 19)}:{count}",
                    "(FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])",
                )
                conn.fetch(str(max(1, count - i)), "(BODY.PEEK[])")
            conn.logout()
            with LOCK:
                out["imap_ms"].append(round((time.monotonic() - start) * 1000, 1))
        except (OSError, imaplib.IMAP4.error) as exc:
            with LOCK:
                out["errors"].append(f"imap client {i}: {type(exc).__name__}: {exc}")
            time.sleep(1)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--hosts", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--smtp", type=int, default=50)
    p.add_argument("--imap", type=int, default=50)
    p.add_argument("--seconds", type=float, default=120)
    args = p.parse_args()
    args.hosts = args.hosts.split(",")
    args.to = args.to.split(",")
    args.users = sorted(json.load(sys.stdin).items())
    out = {"number": 0, "sent": [], "errors": [], "imap_ms": []}
    end = time.monotonic() + args.seconds
    threads = [threading.Thread(target=sender, args=(i, args, end, out)) for i in range(args.smtp)]
    threads += [threading.Thread(target=reader, args=(i, args, end, out)) for i in range(args.imap)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.seconds + 300)
    out["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
