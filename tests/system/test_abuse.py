"""Protocol abuse from the peer (lab/probes/abuse.py, raw sockets): over-long commands and
lines, messages over the size limit, NUL and 8-bit bytes without 8BITMIME, a pipelining
flood, broken MIME, IMAP garbage and literal-size lies. Each gets an answer (or a hang-up),
the services keep running (the same processes), and a normal session right after succeeds."""

from __future__ import annotations

import json

import pytest

from lab import config, container
from lab.until import until
from tests.system.mailclients import (
    DEFAULTS,
    FAMILIES,
    PASSWORDS,
    PORTS,
    imap,
    imap_login,
    inbox,
    send25,
    tag,
)

USER = "alice@example.com"
SIZE = DEFAULTS["postfix"]["message_size_limit"]
SERVICES = ("postfix@-", "dovecot", "rspamd", "opendkim", "opendmarc")


def abuse(case: str, addr: str, **kw) -> dict:
    argv = ["python3", f"{config.PEER_PROBES}/abuse.py", case, "--host", addr]
    for key, value in kw.items():
        argv += [f"--{key}", str(value)]
    proc = container.exec_("peer", *argv, timeout=300)
    return json.loads(proc.stdout)


def pids(lab) -> dict:
    out = lab.sh("mx1", f"systemctl show -p MainPID --value {' '.join(SERVICES)}").stdout
    return dict(zip(SERVICES, out.split(), strict=True))


def codes(result: dict) -> list[str]:
    return [r[:3] for r in result["replies"] if r]


def stored(lab, subject: str) -> str:
    return lab.sh(
        "mx1", f"doveadm search -u {USER} mailbox '*' header subject {subject}", check=False
    ).stdout


@pytest.fixture
def healthy(mail):
    """The services' processes before; after the test, the same ones, and a normal SMTP
    and IMAP session from the peer succeeds over both families."""
    before = pids(mail)
    yield mail
    assert pids(mail) == before, "a service restarted (crashed) under abuse"
    for addr in FAMILIES.values():
        subject = tag("after-abuse")
        assert send25(mail, [USER], subject, addr)["ok"]
        assert inbox(mail, USER, subject, addr=addr)
        assert imap_login(mail, USER, PASSWORDS[USER], addr)["ok"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_over_long_smtp_commands_are_answered_and_refused(healthy, family):
    out = abuse("smtp-long-command", FAMILIES[family], to=USER)
    # the greeting and EHLO; a 100,000-character MAIL FROM refused; a 20,000-character
    # HELO answered, and the transaction under that name refused at RCPT
    greeting, ehlo, mail_from, helo, mail, rcpt = codes(out)
    assert (greeting, ehlo, helo, mail) == ("220", "250", "250", "250"), out
    assert mail_from.startswith("5") and rcpt.startswith("5"), out


def test_over_long_lines_are_answered_and_delivered_whole_or_refused(healthy):
    subject = tag("longlines")
    out = abuse("smtp-long-lines", FAMILIES["ipv4"], to=USER, subject=subject)
    last = codes(out)[-1]
    assert last in ("250", "552", "554"), out
    if last == "250":  # accepted: it reaches the mailbox
        until(lambda: stored(healthy, subject), "the message with long lines stored", 60)


@pytest.mark.parametrize("case", ["smtp-oversize-declared", "smtp-oversize"])
def test_a_message_over_the_size_limit_gets_552_and_nothing_is_stored(healthy, case):
    subject = tag("oversize")
    out = abuse(case, FAMILIES["ipv6"], to=USER, subject=subject, size=SIZE)
    assert codes(out)[-1] == "552", out
    assert stored(healthy, subject) == ""


def test_nul_bytes_and_8bit_without_8bitmime_are_answered(healthy):
    subject = tag("nul8bit")
    out = abuse("smtp-nul-8bit", FAMILIES["ipv4"], to=USER, subject=subject)
    last = codes(out)[-1]
    assert last[0] in "245", out
    if last == "250":  # accepted: delivered, and readable over IMAP
        assert inbox(healthy, USER, subject)


def test_a_pipelining_flood_is_answered_and_cut_off(healthy):
    out = abuse("smtp-pipelining-flood", FAMILIES["ipv6"], to=USER)
    assert out["answered"] > 0, out
    # Postfix answers until its error limit, then says so and hangs up (421)
    assert out["closed"] or codes(out)[-1] == "221", out


def test_broken_mime_is_answered_and_stays_readable(healthy):
    subject = tag("badmime")
    out = abuse("smtp-bad-mime", FAMILIES["ipv4"], to=USER, subject=subject)
    last = codes(out)[-1]
    assert last[0] in "245", out
    if last == "250":
        where = until(lambda: stored_folder(healthy, subject), "the broken message stored", 60)
        folder = "Junk" if "Junk" in where else "INBOX"
        got = imap(healthy, USER, PASSWORDS[USER], folder=folder, subject=subject)
        assert got["ok"] and got["messages"], got


def stored_folder(lab, subject: str) -> str:
    return lab.sh(
        "mx1",
        f"doveadm fetch -u {USER} mailbox mailbox '*' header subject {subject}",
        check=False,
    ).stdout


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_imap_garbage_is_refused(healthy, family):
    out = abuse("imap-garbage", FAMILIES[family], port=PORTS["imap"])
    text = "\n".join(out["replies"])
    assert "BAD" in text or "BYE" in text or out["closed"], out


def test_imap_literal_size_lies_are_refused(healthy):
    out = abuse("imap-literal-lies", FAMILIES["ipv4"], port=PORTS["imap"])
    text = "\n".join(out["replies"])
    assert "l1 OK" not in text and "x1 OK" not in text, out
    assert "BAD" in text or "BYE" in text or "NO" in text, out
