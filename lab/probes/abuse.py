"""Protocol abuse from the peer, over raw sockets: what a broken or hostile client sends.
Each case prints JSON: the server's replies, and whether it hung up.

usage: abuse.py CASE --host ADDR [--port N] [--to RCPT] [--subject TAG]"""

from __future__ import annotations

import argparse
import email.utils
import json
import os
import socket
import sys

TIMEOUT = 60


class Conn:
    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.buf = b""
        self.closed = False

    def _line(self) -> bytes | None:
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def smtp_reply(self) -> str | None:
        """One SMTP reply (its lines joined), None when the server hung up."""
        lines = []
        while (line := self._line()) is not None:
            lines.append(line.decode(errors="replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return "\n".join(lines)
        return "\n".join(lines) or None

    def imap_until(self, tag: bytes) -> list[str]:
        """IMAP lines up to the tagged one (or the hang-up)."""
        out = []
        while (line := self._line()) is not None:
            out.append(line.decode(errors="replace")[:300])
            if line.startswith(tag + b" ") or line.startswith(b"* BYE"):
                break
        return out

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False


def _smtp_open(args) -> tuple[Conn, list]:
    c = Conn(args.host, args.port)
    replies = [c.smtp_reply()]
    c.send(b"EHLO peer.example.net\r\n")
    replies.append(c.smtp_reply())
    return c, replies


def _message(args, body: bytes, headers: bytes = b"") -> bytes:
    head = (
        f"From: <sink@example.net>\r\nTo: <{args.to}>\r\nSubject: {args.subject}\r\n"
        f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{args.subject}@peer>\r\n"
    ).encode()
    return head + headers + b"\r\n" + body


def _transaction(c: Conn, replies: list, args, data: bytes, mail_params: str = "") -> None:
    for cmd in (f"MAIL FROM:<sink@example.net>{mail_params}", f"RCPT TO:<{args.to}>"):
        c.send(cmd.encode() + b"\r\n")
        replies.append(c.smtp_reply())
        if not replies[-1] or not replies[-1].startswith("250"):
            return
    c.send(b"DATA\r\n")
    replies.append(c.smtp_reply())
    if replies[-1] and replies[-1].startswith("354"):
        # dot-stuffing, as a client must
        data = data.replace(b"\r\n.", b"\r\n..")
        c.send(data + b"\r\n.\r\n")
        replies.append(c.smtp_reply())


def smtp_long_command(args) -> dict:
    c, replies = _smtp_open(args)
    c.send(b"MAIL FROM:<" + b"a" * 100_000 + b"@example.net>\r\n")
    replies.append(c.smtp_reply())
    c.send(b"HELO " + b"h" * 20_000 + b"\r\n")
    replies.append(c.smtp_reply())
    # a transaction under that name: refused at RCPT (the name is no host name)
    for cmd in ("MAIL FROM:<sink@example.net>", f"RCPT TO:<{args.to}>"):
        c.send(cmd.encode() + b"\r\n")
        replies.append(c.smtp_reply())
    return {"replies": replies, "closed": c.closed}


def smtp_long_lines(args) -> dict:
    c, replies = _smtp_open(args)
    headers = b"X-Long: " + b"x" * 50_000 + b"\r\n"
    _transaction(c, replies, args, _message(args, b"y" * 1_000_000 + b"\r\nend\r\n", headers))
    return {"replies": replies, "closed": c.closed}


def smtp_oversize_declared(args) -> dict:
    c, replies = _smtp_open(args)
    _transaction(c, replies, args, _message(args, b"small\r\n"), f" SIZE={args.size + 1}")
    return {"replies": replies, "closed": c.closed}


def smtp_oversize(args) -> dict:
    c, replies = _smtp_open(args)
    line = b"z" * 998 + b"\r\n"
    body = line * (args.size // len(line) + 1024)
    _transaction(c, replies, args, _message(args, body))
    return {"replies": replies, "closed": c.closed}


def smtp_nul_8bit(args) -> dict:
    c, replies = _smtp_open(args)
    body = b"nul \x00 here\r\n8-bit \xe9\xe8\xff\xfe without BODY=8BITMIME\r\nend\r\n"
    _transaction(c, replies, args, _message(args, body))
    return {"replies": replies, "closed": c.closed}


def smtp_pipelining_flood(args) -> dict:
    c, replies = _smtp_open(args)
    burst = [b"MAIL FROM:<sink@example.net>"] + [f"RCPT TO:<{args.to}>".encode()] * 2000
    c.send(b"\r\n".join(burst + [b"RSET", b"NOOP"] * 500) + b"\r\n")
    count = 0
    while count < 1 + 2000 + 1000 and (reply := c.smtp_reply()) is not None:
        count += 1
        last = reply
    replies.append(f"{count} replies, the last: {last if count else None}")
    c.send(b"QUIT\r\n")
    replies.append(c.smtp_reply())
    return {"replies": replies, "answered": count, "closed": c.closed}


def smtp_bad_mime(args) -> dict:
    """Broken MIME: a multipart whose boundary never closes, 120 levels of nesting,
    base64 that is not, a thousand encoded words in a header."""
    nested = b""
    for i in range(120):
        nested += f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n".encode()
    nested += b"--b120\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    nested += b"!!!! not base64 ====\r\n"
    headers = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b0\r\n"
        b"X-Words: " + b" ".join([b"=?utf-8?B?w6k=?="] * 1000) + b"\r\n"
    )
    c, replies = _smtp_open(args)
    _transaction(c, replies, args, _message(args, nested, headers))
    return {"replies": replies, "closed": c.closed}


def imap_garbage(args) -> dict:
    c = Conn(args.host, args.port)
    out = [c._line().decode(errors="replace")]
    junk = os.urandom(32_768).replace(b"\n", b" ").replace(b"\r", b" ")
    for i in range(20):
        c.send(junk[i * 1000 : (i + 1) * 1000] + b"\r\n")
    c.send(b"g1 NOOP\r\n")
    out += c.imap_until(b"g1")
    return {"replies": out[-5:], "closed": c.closed}


def imap_literal_lies(args) -> dict:
    c = Conn(args.host, args.port)
    out = [c._line().decode(errors="replace")]
    c.send(b"l1 LOGIN {4294967296}\r\n")  # a literal larger than any line limit
    out += c.imap_until(b"l1")
    if not c.closed:
        c.send(b"l2 LOGIN {64}\r\n")  # then fewer bytes than announced, and hang up
        out.append((c._line() or b"").decode(errors="replace"))
        c.send(b"abc")
    c.sock.close()
    c = Conn(args.host, args.port)  # and a command line longer than any limit
    out.append(c._line().decode(errors="replace"))
    c.send(b"x1 " + b"A" * 200_000 + b"\r\n")
    out += c.imap_until(b"x1")
    return {"replies": out, "closed": c.closed}


CASES = {
    name.replace("_", "-"): fn
    for name, fn in globals().copy().items()
    if name.startswith(("smtp_", "imap_")) and callable(fn)
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=25)
    parser.add_argument("--to", default="")
    parser.add_argument("--subject", default="abuse")
    parser.add_argument("--size", type=int, default=52428800)
    args = parser.parse_args()
    try:
        result = CASES[args.case](args)
    except OSError as exc:
        result = {"error": f"{type(exc).__name__}: {exc}", "closed": True}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
