"""Deliverability, judged by a strict receiver: the peer's Postfix with OpenDKIM and OpenDMARC
checks mail a mailbox on mx1 sends (DKIM, SPF, DMARC against the lab's DNS, where the
records mx1 printed were published as an admin would publish them at a DNS provider); mx1
judges forged mail from the peer the same way."""

from __future__ import annotations

import json
import time

import pytest

from lab import config, dns
from lab.until import until
from tests.system.mailclients import DEFAULTS, inbox, send25, sink_message, submit, tag, verdicts

MX1 = config.HOSTS["mx1"]


def test_the_records_cover_every_domain_and_a_dkim_key_each(published):
    text = "\n".join(published.records)
    for domain in ("example.com", "example.org"):
        assert f'{domain}. 3600 IN TXT "{DEFAULTS["dns"]["spf"]}"' in text
        assert f"_dmarc.{domain}. 3600 IN TXT" in text
        assert f"._domainkey.{domain}. 3600 IN TXT" in text
        # mail clients' SRV records (RFC 6186, RFC 8314)
        assert f"_submissions._tcp.{domain}. 3600 IN SRV 0 1 465 mx1.example.com." in text
        assert f"_submission._tcp.{domain}. 3600 IN SRV 0 1 587 mx1.example.com." in text
        assert f"_imaps._tcp.{domain}. 3600 IN SRV 0 1 993 mx1.example.com." in text
    # A, AAAA, TLSA, MX, SPF, DMARC, DKIM, MTA-STS TXT, its A and AAAA, TLS-RPT, the A and
    # AAAA of autoconfig and autodiscover, 3 SRV; the same less the host's records; a PTR
    # per family (the lab keeps PTRs in its root zone)
    counts = published.published
    assert (counts["example.com"], counts["example.org"]) == (18, 15), counts
    assert counts["."] == 2, counts


@pytest.mark.parametrize("port", ["submission", "submissions"])
def test_a_mailboxs_mail_passes_dkim_spf_and_dmarc_at_a_strict_receiver(published, port):
    subject = tag("dmarc")
    ret = submit(published, "alice@example.com", ["sink@example.net"], subject, port=port)
    assert ret["ok"], ret
    msg = sink_message(published, subject)
    assert msg["DKIM-Signature"], "not signed"
    result = verdicts(msg, "peer.example.net")
    assert "dkim=pass" in result and "header.d=example.com" in result, result
    assert "spf=pass" in result and "smtp.mailfrom=example.com" in result, result
    assert "dmarc=pass" in result and "header.from=example.com" in result, result


def test_mail_the_host_itself_sends_is_signed_too(published):
    subject = tag("local")
    published.sh(
        "mx1",
        f"printf 'From: postmaster@example.com\\nTo: sink@example.net\\nSubject: {subject}\\n\\n"
        "hello\\n' | /usr/sbin/sendmail -f postmaster@example.com sink@example.net",
    )
    result = verdicts(sink_message(published, subject), "peer.example.net")
    assert "dkim=pass" in result and "dmarc=pass" in result, result


def test_the_private_key_stays_on_the_host_and_the_mine_has_the_public_half(published):
    key_dir = DEFAULTS["dkim"]["key_dir"]
    listing = published.sh("mx1", f"stat -c '%U %a %n' {key_dir}/example.com/*.private").stdout
    owner, mode, _ = listing.split()
    assert (owner, mode) == ("opendkim", "600")
    mine = published.salt_json("mine.get", "mx1", "mailserver_dkim.public_keys", tool="salt-run")
    keys = mine["mx1"]["example.com"]
    (selector, key), *_ = keys.items()
    assert "PRIVATE" not in json.dumps(mine)
    # no piece of the private key on the master (job cache, mine, logs) or in the minion's
    # logs; a line near the end (the first lines hold the modulus, which is public)
    body = published.sh(
        "mx1", f"tail -n 4 {key_dir}/example.com/*.private | head -n 1"
    ).stdout.strip()
    assert len(body) == 64
    on_mx1, on_master = published.files_holding(body)
    assert on_mx1 == ""
    assert on_master == "", on_master
    # what the mine has is what DNS serves
    txt = published.sh(
        "peer", f"dig +short TXT {selector}._domainkey.example.com @127.0.0.1"
    ).stdout
    assert key["p"] in txt.replace('" "', "").replace('"', "")


def test_forged_from_of_our_domain_fails_dmarc_and_is_held_not_delivered(published):
    subject = tag("forged")
    ret = published.probe(
        "smtp",
        "--host",
        MX1.ip4,
        "--port",
        str(DEFAULTS["ports"]["smtp"]),
        "--starttls",
        "--helo",
        "peer.example.net",
        "--mail-from",
        "someone@example.net",
        "--header-from",
        "ceo@example.com",
        "--to",
        "alice@example.com",
        "--subject",
        subject,
    )
    # p=quarantine: accepted, then held in mx1's queue instead of delivered
    assert ret["ok"], (ret.get("code"), ret.get("response"))

    def held():
        ids = published.sh(
            "mx1",
            'postqueue -j | python3 -c \'import json,sys; [print(q["queue_id"]) for q in '
            'map(json.loads, sys.stdin) if q["queue_name"] == "hold"]\'',
        ).stdout.split()
        return [
            qid
            for qid in ids
            if subject in published.sh("mx1", f"postcat -hq {qid}", check=False).stdout
        ]

    mine = until(held, f"{subject} to be held in mx1's queue", 30)
    # held: it stays in the queue and never reaches the mailbox
    assert not inbox(published, "alice@example.com", subject, timeout=0), "forged mail delivered"
    published.sh("mx1", f"postsuper -d {mine[0]} hold")


def test_forged_from_of_a_p_reject_domain_is_refused(published):
    """A domain that says p=reject (here example.org, re-published so) gets its forgeries
    refused at the end of DATA: nothing to hold, nothing delivered."""
    records = published.records
    strict = [
        r.replace("p=quarantine", "p=reject") if r.startswith("_dmarc.example.org.") else r
        for r in records
    ]
    dns.publish(strict, serial=int(time.time()) + 20)
    try:
        ret = published.probe(
            "smtp", "--host", MX1.ip4, "--port", str(DEFAULTS["ports"]["smtp"]),
            "--starttls", "--helo", "peer.example.net", "--mail-from", "someone@example.net",
            "--header-from", "ceo@example.org", "--to", "carol@example.org",
            "--subject", tag("reject"),
        )  # fmt: skip
        assert not ret["ok"] and ret["code"] == 550, ret
    finally:
        dns.publish(records, serial=int(time.time()) + 21)


def test_inbound_mail_carries_mx1s_verdicts(published):
    subject = tag("in")
    assert send25(published, ["alice@example.com"], subject)["ok"]
    messages = inbox(published, "alice@example.com", subject)
    assert messages, "not delivered"
    headers = messages[0]["headers"]
    assert "Authentication-Results: mx1.example.com; dmarc=none" in headers, headers
    assert "header.from=example.net" in headers


def dkim_state(states) -> dict:
    return next(v for v in states.values() if v["__id__"] == "mailserver-dkim-config-keys-present")


def test_rotation_switches_once_dns_serves_the_successor_then_retires_the_old_key(published):
    lab = published
    (old,) = lab.salt_json("mx1", "mailserver_dkim.selectors", "example.com")["mx1"]["selectors"]
    new = lab.salt_json("mx1", "mailserver_dkim.rotate", "example.com")["mx1"]
    assert new != old
    # not in DNS yet: the old key keeps signing, and the highstate says what it waits for
    state = dkim_state(lab.highstate())
    assert state["changes"] == {} and new in state["comment"], state
    records = lab.salt_json("mx1", "mailserver_dns.records")["mx1"]
    assert any(r.startswith(f"{new}._domainkey.example.com.") for r in records)
    dns.publish(records, serial=int(time.time()) + 1)
    state = dkim_state(lab.highstate())
    assert state["changes"]["example.com"]["switched"] == new, state
    subject = tag("rotated")
    assert submit(lab, "alice@example.com", ["sink@example.net"], subject)["ok"]
    msg = sink_message(lab, subject)
    assert f"s={new};" in msg["DKIM-Signature"].replace(" ", "")
    assert "dkim=pass" in verdicts(msg, "peer.example.net")
    # a week later (the retirement date moved into the past) the old key goes
    key_dir = DEFAULTS["dkim"]["key_dir"]
    lab.sh(
        "mx1",
        f"python3 - <<'PY'\nimport json\np = '{key_dir}/example.com/meta.json'\n"
        "d = json.load(open(p))\n"
        "d['retire'] = {k: '2000-01-01T00:00:00+00:00' for k in d['retire']}\n"
        "json.dump(d, open(p, 'w'))\nPY",
    )
    state = dkim_state(lab.highstate())
    assert state["changes"]["example.com"]["retired"] == [old], state
    records = lab.salt_json("mx1", "mailserver_dns.records")["mx1"]
    assert not any(r.startswith(f"{old}._domainkey.example.com.") for r in records)
    assert lab.sh("mx1", f"ls {key_dir}/example.com").stdout.split().count(f"{old}.private") == 0
    dns.publish(records, serial=int(time.time()) + 2)


def test_status_check_is_green_and_names_what_a_broken_record_breaks(published):
    lab = published
    rc, ret = lab.status_check()
    assert rc == 0 and ret["ok"], ret["summary"]
    names = {c["name"] for c in ret["checks"]}
    for expected in (
        "A mx1.example.com",
        "AAAA mx1.example.com",
        f"PTR {MX1.ip4}",
        f"PTR {MX1.ip6}",
        "TLSA _25._tcp.mx1.example.com",
        "SPF example.org",
        "DMARC example.com",
        "certificate expiry",
        "mail store",
        "mail queue",
        f"imaps {MX1.ip6} port 993",
        f"https {MX1.ip4} port 443",
        "MTA-STS example.com",
        "TLS-RPT example.org",
        "certificate names",
    ):
        assert expected in names, sorted(names)
    records = lab.salt_json("mx1", "mailserver_dns.records")["mx1"]
    broken = [r.replace("v=spf1 mx -all", "v=spf1 -all") for r in records]
    dns.publish(broken, serial=int(time.time()) + 10)
    try:
        rc, ret = lab.status_check()
        assert rc != 0 and not ret["ok"]
        failed = [c["name"] for c in ret["checks"] if not c["ok"]]
        assert failed == ["SPF example.com", "SPF example.org"], ret["summary"]
        assert "SPF example.com" in ret["summary"]
    finally:
        dns.publish(records, serial=int(time.time()) + 11)
