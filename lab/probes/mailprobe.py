#!/usr/bin/env python3
"""Real mail clients for the lab, run on the peer (the outside world) with Debian's python3.

Standard library only. Passwords are read from standard input, never from the arguments.
Every command prints one JSON object: what a user would see (codes, capabilities, folders,
messages), so the tests can assert on the outcome rather than on the command having run.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import email.utils
import imaplib
import json
import re
import smtplib
import socket
import ssl
import sys
from email.message import EmailMessage


def _ctx() -> ssl.SSLContext:
    # the lab's certificate is self-signed; the tests check who it names separately
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _password(args) -> str | None:
    return sys.stdin.readline().rstrip("\n") if args.password_stdin else None


def smtp(args) -> dict:
    out: dict = {"stage": "connect"}
    cls = smtplib.SMTP_SSL if args.ssl else smtplib.SMTP
    kw = {"context": _ctx()} if args.ssl else {}
    password = _password(args)
    try:
        source = (args.source, 0) if args.source else None
        with cls(
            args.host, args.port, timeout=30, local_hostname=args.helo, source_address=source, **kw
        ) as s:
            out["stage"] = "ehlo"
            s.ehlo()
            out["features_before_tls"] = sorted(s.esmtp_features)
            out["auth_before_tls"] = s.esmtp_features.get("auth", "")
            if args.starttls:
                out["stage"] = "starttls"
                s.starttls(context=_ctx())
                s.ehlo()
            out["tls"] = bool(args.ssl or args.starttls)
            out["features"] = sorted(s.esmtp_features)
            out["auth"] = s.esmtp_features.get("auth", "")
            if args.user:
                out["stage"] = "auth"
                s.login(args.user, password)
            if not args.to:
                out["ok"] = True
                return out
            msg = EmailMessage()
            msg["From"] = args.header_from or args.mail_from
            msg["To"] = ", ".join(args.to)
            msg["Subject"] = args.subject
            msg["Message-ID"] = f"<{args.subject}@{args.helo}>"
            if not args.no_date:  # RFC 5322 requires it
                msg["Date"] = email.utils.formatdate(localtime=False)
            msg.set_content(args.body)
            out["stage"] = "mail"
            code, resp = s.mail(args.mail_from)
            if code != 250:
                return {**out, "ok": False, "code": code, "error": resp.decode()}
            out["stage"] = "rcpt"
            for rcpt in args.to:
                code, resp = s.rcpt(rcpt)
                if code not in (250, 251):
                    return {**out, "ok": False, "code": code, "error": resp.decode(), "rcpt": rcpt}
            out["stage"] = "data"
            code, resp = s.data(msg.as_bytes())
            out.update(ok=code == 250, code=code, response=resp.decode())
            if code != 250:  # refused at the end of DATA: the reply, as for any refusal
                out["error"] = resp.decode()
            return out
    except smtplib.SMTPResponseException as exc:
        return {**out, "ok": False, "code": exc.smtp_code, "error": str(exc.smtp_error)}
    except (smtplib.SMTPException, OSError) as exc:
        return {**out, "ok": False, "code": None, "error": f"{type(exc).__name__}: {exc}"}


def _imap(args):
    if args.ssl:
        return imaplib.IMAP4_SSL(args.host, args.port, ssl_context=_ctx(), timeout=30)
    conn = imaplib.IMAP4(args.host, args.port, timeout=30)
    if args.starttls:
        conn.starttls(ssl_context=_ctx())
    return conn


def imap(args) -> dict:
    out: dict = {"stage": "connect"}
    password = _password(args)
    try:
        conn = _imap(args)
    except (OSError, imaplib.IMAP4.error) as exc:
        return {**out, "ok": False, "error": str(exc)}
    try:
        out["capabilities"] = sorted(conn.capabilities)
        out["stage"] = "login"
        if args.raw_login:  # a LOGIN even when the server says it is disabled
            typ, data = conn._simple_command("LOGIN", conn._quote(args.user), conn._quote(password))
            out.update(ok=typ == "OK", response=[d.decode() for d in data if d])
            return out
        conn.login(args.user, password)
        out["stage"] = "list"
        typ, data = conn.list()
        out["folders"] = sorted(
            line.decode().rsplit(' "/" ', 1)[-1].strip('"') for line in data if line
        )
        out["special_use"] = sorted(
            line.decode().split(")")[0] + ")"
            for line in data
            if line and b"\\" in line.split(b")")[0]
        )
        out["messages"] = []
        if args.quota:
            typ, data = conn.getquotaroot("INBOX")
            # [[b'"INBOX" "User quota"'], [b'"User quota" (STORAGE 12 2097152)']]
            out["quota"] = [d.decode() for d in data[1] if d] if typ == "OK" else []
        if args.folder and (args.move_to or args.delete or args.flag):
            # as a mail client moves a message (RFC 6851 MOVE), deletes it (EXPUNGE) or
            # flags it (STORE)
            out["stage"] = "move" if args.move_to else "delete" if args.delete else "flag"
            typ, _ = conn.select(f'"{args.folder}"')
            typ, data = conn.uid("SEARCH", "SUBJECT", f'"{args.subject}"')
            uids = b",".join(data[0].split() if typ == "OK" else []).decode()
            if not uids:
                return {**out, "ok": False, "error": f"no {args.subject} in {args.folder}"}
            if args.move_to:
                typ, data = conn.uid("MOVE", uids, f'"{args.move_to}"')
                out["response"] = [str(d) for d in data if d]
            elif args.flag:
                typ, _ = conn.uid("STORE", uids, "+FLAGS.SILENT", f"({args.flag})")
            else:
                conn.uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)")
                typ, _ = conn.expunge()
            out.update(ok=typ == "OK", **{out["stage"] + "d": len(uids.split(","))})
            return out
        if args.folder:
            out["stage"] = "select"
            typ, data = conn.select(f'"{args.folder}"', readonly=True)
            if typ != "OK":  # with the server's words
                said = " ".join(d.decode(errors="replace") for d in data if isinstance(d, bytes))
                return {**out, "ok": False, "error": f"cannot select {args.folder}: {typ} {said}"}
            criteria = ["ALL"] if not args.subject else ["SUBJECT", f'"{args.subject}"']
            if args.body:  # a word of the messages' bodies (what full-text search serves)
                criteria = ["BODY", f'"{args.body}"']
            typ, data = conn.search(None, *criteria)
            for num in data[0].split():
                typ, msg = conn.fetch(num, "(FLAGS BODY.PEEK[])")
                raw = msg[0][1].decode(errors="replace")
                head = raw.split("\r\n\r\n", 1)[0]
                flags = re.search(rb"FLAGS \(([^)]*)\)", msg[0][0])
                out["messages"].append(
                    {
                        "headers": head,
                        "body": raw[len(head) :].strip(),
                        "flags": flags.group(1).decode().split() if flags else [],
                    }
                )
        out["ok"] = True
        return out
    except imaplib.IMAP4.error as exc:
        return {**out, "ok": False, "error": str(exc)}
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()


class _Sieve:
    """Just enough ManageSieve (RFC 5804): STARTTLS, AUTHENTICATE PLAIN, PUTSCRIPT."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.file = self.sock.makefile("rb")
        self.greeting = self.response()

    def response(self) -> tuple[str, list[str]]:
        lines = []
        while True:
            line = self.file.readline().decode().rstrip("\r\n")
            if not line:
                raise OSError("connection closed")
            for status in ("OK", "NO", "BYE"):
                if line == status or line.startswith(status + " "):
                    return status, lines + [line]
            lines.append(line)

    def send(self, text: str) -> tuple[str, list[str]]:
        self.sock.sendall(text.encode())
        return self.response()

    def starttls(self):
        status, lines = self.send("STARTTLS\r\n")
        if status != "OK":
            raise OSError(f"STARTTLS refused: {lines}")
        self.sock = _ctx().wrap_socket(self.sock, server_hostname=None)
        self.file = self.sock.makefile("rb")
        return self.response()  # capabilities again


def sieve(args) -> dict:
    password = _password(args)
    conn = _Sieve(args.host, args.port)
    out = {"capabilities_before_tls": conn.greeting[1]}
    conn.starttls()
    token = base64.b64encode(f"\0{args.user}\0{password}".encode()).decode()
    status, lines = conn.send(f'AUTHENTICATE "PLAIN" "{token}"\r\n')
    if status != "OK":
        return {**out, "ok": False, "stage": "auth", "response": lines}
    script = sys.stdin.read()
    data = script.encode()
    status, lines = conn.send(f'PUTSCRIPT "{args.name}" {{{len(data)}+}}\r\n{script}\r\n')
    if status != "OK":
        return {**out, "ok": False, "stage": "putscript", "response": lines}
    status, lines = conn.send(f'SETACTIVE "{args.name}"\r\n')
    conn.send("LOGOUT\r\n")
    return {**out, "ok": status == "OK", "stage": "setactive", "response": lines}


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("smtp", "imap", "sieve"):
        p = sub.add_parser(name)
        p.add_argument("--host", required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--ssl", action="store_true")
        p.add_argument("--starttls", action="store_true")
        p.add_argument("--user")
        p.add_argument("--password-stdin", action="store_true")
    p = sub.choices["smtp"]
    p.add_argument("--helo", default=socket.getfqdn())
    p.add_argument("--mail-from", default="")
    p.add_argument("--header-from")
    p.add_argument("--to", action="append", default=[])
    p.add_argument("--subject", default="lab probe")
    p.add_argument("--body", default="lab probe")
    p.add_argument("--no-date", action="store_true", help="a message without a Date: field")
    p.add_argument("--source", help="the peer's address to send from")
    p = sub.choices["imap"]
    p.add_argument("--folder")
    p.add_argument("--subject")
    p.add_argument("--body", help="search the bodies for this instead")
    p.add_argument("--raw-login", action="store_true")
    p.add_argument("--quota", action="store_true")
    p.add_argument("--move-to", help="move the messages with --subject from --folder here")
    p.add_argument("--delete", action="store_true", help="delete (and expunge) them instead")
    p.add_argument("--flag", help="add this flag (\\Flagged) to them instead")
    sub.choices["sieve"].add_argument("--name", default="lab")
    args = parser.parse_args()
    result = {"smtp": smtp, "imap": imap, "sieve": sieve}[args.cmd](args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
