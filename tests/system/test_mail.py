"""Core mail service, proven from the peer (the outside world) with real clients over IPv4
and IPv6: mail in and out, submission, relay refusal, IMAP, ManageSieve, pillar edits."""

from __future__ import annotations

import time

import pytest

from tests.system.mailclients import (
    MX1,
    PASSWORDS,
    PORTS,
    imap,
    inbox,
    send25,
    submit,
    tag,
)


def test_mail_from_outside_arrives_and_is_read_over_imaps(mail, addr):
    subject = tag("in")
    ret = send25(mail, ["alice@example.com"], subject, addr=addr)
    assert ret["ok"], ret
    assert ret["tls"], "STARTTLS on port 25 should be offered and work"
    msgs = inbox(mail, "alice@example.com", subject, addr=addr)
    assert len(msgs) == 1
    assert "Delivered-To: alice@example.com" in msgs[0]["headers"]


def test_alias_plus_address_and_catch_all_deliver(mail):
    subjects = {k: tag(k) for k in ("alias", "plus", "catchall", "multi")}
    assert send25(mail, ["postmaster@example.com"], subjects["alias"])["ok"]
    assert send25(mail, ["alice+lists@example.com"], subjects["plus"])["ok"]
    assert send25(mail, ["anything-at-all@example.org"], subjects["catchall"])["ok"]
    assert send25(mail, ["info@example.com"], subjects["multi"])["ok"]
    assert inbox(mail, "alice@example.com", subjects["alias"])
    plus = inbox(mail, "alice@example.com", subjects["plus"])
    assert plus and "alice+lists@example.com" in plus[0]["headers"]
    assert inbox(mail, "carol@example.org", subjects["catchall"])
    assert inbox(mail, "alice@example.com", subjects["multi"])
    assert inbox(mail, "bob@example.com", subjects["multi"])


def test_unknown_recipient_is_refused_at_rcpt(mail, addr):
    ret = send25(mail, ["nobody@example.com"], tag(), addr=addr)
    assert not ret["ok"]
    assert ret["stage"] == "rcpt" and ret["code"] == 550, ret


@pytest.mark.parametrize(
    "rcpt",
    [
        "sink@example.net",
        "sink%example.net@example.com",  # percent hack
        "example.net!sink@example.com",  # bang path
        '"sink@example.net"@example.com',  # quoted local part
        "@example.com:sink@example.net",  # source route
        "sink@example.net@example.com",
    ],
)
def test_open_relay_attempts_are_refused(mail, addr, rcpt):
    ret = send25(mail, [rcpt], tag("relay"), addr=addr)
    assert not ret["ok"], ret
    assert ret["stage"] in ("rcpt", "mail") and 500 <= ret["code"] < 600, ret


@pytest.mark.parametrize("port", ["submission", "submissions"])
def test_submission_offers_auth_only_under_tls(mail, addr, port):
    tls = ["--ssl"] if port == "submissions" else ["--starttls"]
    ret = mail.probe("smtp", "--host", addr, "--port", str(PORTS[port]), *tls)
    assert ret["ok"], ret
    assert "PLAIN" in ret["auth"]
    if port == "submission":  # plain text until STARTTLS: no AUTH offered there
        assert ret["auth_before_tls"] == ""
        assert "starttls" in ret["features_before_tls"]
    # and port 25 never offers AUTH to the world
    ret = mail.probe("smtp", "--host", addr, "--port", str(PORTS["smtp"]), "--starttls")
    assert ret["auth"] == ""


def test_submission_without_tls_is_refused(mail):
    ret = mail.probe(
        "smtp",
        "--host",
        MX1.ip4,
        "--port",
        str(PORTS["submission"]),
        "--mail-from",
        "alice@example.com",
        "--to",
        "sink@example.net",
    )
    assert not ret["ok"] and ret["code"] // 100 == 5, ret


@pytest.mark.parametrize("port", ["submission", "submissions"])
def test_wrong_password_is_refused(mail, port):
    ret = submit(
        mail,
        "bob@example.com",
        ["sink@example.net"],
        tag(),
        port=port,
        password="not-bobs-password",
    )
    assert not ret["ok"]
    assert ret["stage"] == "auth" and ret["code"] == 535, ret


@pytest.mark.parametrize("port", ["submission", "submissions"])
def test_authenticated_user_sends_to_local_and_outside(mail, addr, port):
    subject = tag("out")
    ret = submit(
        mail,
        "alice@example.com",
        ["bob@example.com", "sink@example.net"],
        subject,
        port=port,
        addr=addr,
    )
    assert ret["ok"], ret
    assert inbox(mail, "bob@example.com", subject)
    deadline = time.monotonic() + 30
    while subject not in mail.sh("peer", "cat /var/mail/sink", check=False).stdout:
        assert time.monotonic() < deadline, "the peer's MTA never got the message"
        time.sleep(1)


def test_sending_as_an_alias_one_receives_is_allowed(mail):
    ret = submit(mail, "bob@example.com", ["sink@example.net"], tag(), mail_from="info@example.com")
    assert ret["ok"], ret


def test_sending_as_another_user_is_refused(mail, addr):
    ret = submit(
        mail,
        "bob@example.com",
        ["sink@example.net"],
        tag(),
        addr=addr,
        mail_from="alice@example.com",
    )
    assert not ret["ok"]
    assert ret["code"] == 553 and "not owned by user" in ret["error"], ret


def test_imap_plaintext_login_is_refused_before_starttls(mail, addr):
    ret = mail.probe(
        "imap",
        "--host",
        addr,
        "--port",
        str(PORTS["imap"]),
        "--user",
        "bob@example.com",
        "--raw-login",
        password=PASSWORDS["bob@example.com"],
    )
    assert "LOGINDISABLED" in ret["capabilities"] and "STARTTLS" in ret["capabilities"]
    assert ret["ok"] is False
    # after STARTTLS the same login works
    ret = mail.probe(
        "imap",
        "--host",
        addr,
        "--port",
        str(PORTS["imap"]),
        "--starttls",
        "--user",
        "bob@example.com",
        password=PASSWORDS["bob@example.com"],
    )
    assert ret["ok"], ret
    assert {"Drafts", "Sent", "Junk", "Trash"} <= set(ret["folders"])
    assert any("\\Sent" in s for s in ret["special_use"])


def test_sieve_script_over_managesieve_files_matching_mail(mail):
    marker = tag("sieve")
    script = (
        'require ["fileinto", "mailbox"];\n'
        f'if header :contains "subject" "{marker}" {{ fileinto :create "Filed"; }}\n'
    )
    ret = mail.probe(
        "sieve",
        "--host",
        MX1.ip6,
        "--port",
        str(PORTS["managesieve"]),
        "--user",
        "bob@example.com",
        password=PASSWORDS["bob@example.com"],
        stdin=script,
    )
    assert ret["ok"], ret
    assert send25(mail, ["bob@example.com"], f"{marker} filed")["ok"]
    assert send25(mail, ["bob@example.com"], tag("plain"))["ok"]
    assert inbox(mail, "bob@example.com", marker, folder="Filed")
    assert not inbox(mail, "bob@example.com", marker, folder="INBOX", timeout=0)


@pytest.mark.parametrize(
    ("user", "limit_kib"),
    [
        ("alice@example.com", 2 * 1024 * 1024),
        ("carol@example.org", 500 * 1024),
        ("bob@example.com", None),
    ],
)
def test_quota_from_pillar_is_in_force(mail, user, limit_kib):
    ret = imap(mail, user, PASSWORDS[user], quota=True)
    assert ret["ok"], ret
    storage = [q for q in ret["quota"] if "STORAGE" in q]
    if limit_kib is None:  # no quota in pillar: no limit
        assert storage == [], ret["quota"]
    else:
        assert storage and storage[0].rstrip(")").split()[-1] == str(limit_kib), ret["quota"]
