"""Core mail service, proven from the peer (the outside world) with real clients over IPv4
and IPv6: mail in and out, submission, relay refusal, IMAP, ManageSieve, pillar edits."""

from __future__ import annotations

import pytest

from lab.until import until
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


def test_a_header_dmarc_cannot_judge_is_refused_with_a_reply_that_says_why(mail):
    """Mail without a Date: field (or with a From: naming two domains, which would let a
    forger choose the one DMARC judges) is refused at the end of DATA; the reply names the
    fields RFC 5322 requires (the bug: a bare `550 5.7.1 Command rejected`)."""
    nodate = mail.probe(
        "smtp", "--host", MX1.ip4, "--port", str(PORTS["smtp"]), "--starttls",
        "--helo", "peer.example.net", "--mail-from", "someone@example.net",
        "--to", "alice@example.com", "--subject", tag("nodate"), "--no-date",
    )  # fmt: skip
    assert not nodate["ok"] and nodate["stage"] == "data" and nodate["code"] == 550, nodate
    assert "exactly one Date: and one From: field" in nodate["error"], nodate
    two = send25(mail, ["alice@example.com"], tag("twofrom"),
                 mail_from="someone@example.net")  # fmt: skip
    assert two["ok"], two  # the same message with a Date: and one From: is taken
    forged = mail.probe(
        "smtp", "--host", MX1.ip4, "--port", str(PORTS["smtp"]), "--starttls",
        "--helo", "peer.example.net", "--mail-from", "someone@example.net",
        "--header-from", "someone@example.net, ceo@example.com",
        "--to", "alice@example.com", "--subject", tag("twofrom"),
    )  # fmt: skip
    assert not forged["ok"] and forged["code"] == 550, forged
    assert "with one domain in From:" in forged["error"], forged


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
    until(
        lambda: subject in mail.sh("peer", "cat /var/mail/sink", check=False).stdout,
        "the peer's MTA to get the message",
        30,
    )


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


@pytest.fixture
def fts(mail):
    """Full-text search turned on in pillar, as docs/configuration.md says, then off again."""
    pillar = mail.read_pillar()
    pillar.setdefault("dovecot", {})["fts"] = {"enabled": True}
    mail.write_pillar(pillar)
    rc, data = mail.apply("mx1", "mailserver.dovecot")
    assert rc == 0, {k: v["comment"] for k, v in data["mx1"].items() if not v["result"]}
    yield mail
    mail.reset_pillar()
    rc, data = mail.apply("mx1", "mailserver.dovecot")
    assert rc == 0, data


def test_a_word_of_a_new_message_is_found_through_the_search_index(fts):
    """Full-text search: the index is updated at delivery; IMAP's SEARCH BODY finds the
    word, and the index alone (doveadm fts lookup, which reads no message) holds it; after
    ``mailserver_accounts.reindex`` it is there again."""
    mail = fts
    word = "fts" + tag("w").split("-")[1]
    subject = tag("fts")
    assert send25(mail, ["alice@example.com"], subject, body=f"the word is {word} today")["ok"]
    assert inbox(mail, "alice@example.com", subject)

    def indexed():
        out = mail.sh(
            "mx1", f"doveadm fts lookup -u alice@example.com mailbox INBOX body {word}"
        ).stdout
        return out.strip() or None

    until(indexed, f"{word} in the search index", timeout=60, interval=1)
    password = PASSWORDS["alice@example.com"]
    found = imap(mail, "alice@example.com", password, folder="INBOX", body=word)
    assert [m for m in found["messages"] if subject in m["headers"]], found
    missing = imap(mail, "alice@example.com", password, folder="INBOX", body=word + "x")
    assert missing["ok"] and missing["messages"] == []
    # a rebuild from Salt: the index is forgotten and built again in the background
    ret = mail.salt_json("mx1", "mailserver_accounts.reindex", "alice@example.com")
    assert ret["mx1"] == {"reindexing": "alice@example.com"}, ret
    until(indexed, f"{word} in the rebuilt index", timeout=120, interval=1)
