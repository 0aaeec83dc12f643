"""BIND 9 on mx1, probed with real DNS clients from the peer.

mx1's own resolver validates DNSSEC (the lab root is signed; its key reaches mx1 through the
lab's pillar) and answers nobody else. With ``dns:authoritative:enabled`` mx1 also serves the
mail domains and its reverse names, signed; the lab then delegates them as a registrar would
(NS, glue and the DS that ``mailserver_bind.delegation`` prints, published in the lab root),
and the peer validates every record from the root down with ``delv``."""

from __future__ import annotations

import ipaddress
import time

import pytest

from lab import config, dns
from lab.until import until
from tests.system.mailclients import inbox, peer_sends, served_tlsa, submit, tag

MX1, PEER = config.HOSTS["mx1"], config.HOSTS["peer"]
ANCHORS = "/tmp/lab-trust-anchors.conf"


# mx1's own resolver (first: the module's signed zones come after)


def test_mx1s_own_resolver_validates_and_is_what_its_programs_use(mail):
    """Validation can fail: the lab root says dnssec-failed.test is signed, with a DS that
    matches no key, so the resolver refuses its answer unless told not to check (+cd)."""
    assert "nameserver 127.0.0.1" in mail.sh("mx1", "cat /etc/resolv.conf").stdout
    bogus = mail.sh("mx1", f"dig @127.0.0.1 www.{dns.BOGUS} A").stdout
    assert "status: SERVFAIL" in bogus, bogus
    unchecked = mail.sh("mx1", f"dig @127.0.0.1 +cd www.{dns.BOGUS} A").stdout
    assert "status: NOERROR" in unchecked and PEER.ip4 in unchecked, unchecked
    root = mail.sh("mx1", "dig @127.0.0.1 +dnssec . SOA").stdout
    assert " ad" in root.split("flags:")[1].split(";")[0], root


def test_mail_waits_while_the_resolver_is_down_and_leaves_once_it_is_back(mail):
    """Nothing is lost when BIND is down: outbound mail is deferred (not bounced), and
    delivered once the resolver answers again."""
    subject = tag("nodns")
    mail.sh("mx1", "systemctl stop named")
    try:
        assert submit(mail, "alice@example.com", ["sink@example.net"], subject)["ok"]

        # deferred: in the queue with the reason it waits (a failed lookup), not bounced
        def deferred():
            queue = mail.sh("mx1", "postqueue -j").stdout
            return queue if "delay_reason" in queue else ""

        queue = until(deferred, "the message to be deferred in mx1's queue", 30)
        assert "sink@example.net" in queue
        assert subject not in mail.sh("peer", "cat /var/mail/sink", check=False).stdout
    finally:
        mail.sh("mx1", "systemctl start named")
    mail.sh("mx1", "postqueue -f")
    until(
        lambda: subject in mail.sh("peer", "cat /var/mail/sink", check=False).stdout,
        "the deferred message to reach the peer",
        60,
    )


@pytest.fixture(scope="module")
def signed(lab_session):
    lab = lab_session.ensure_up()
    pillar = lab.read_pillar()
    pillar.setdefault("dns", {})["authoritative"] = {"enabled": True, "reverse": True}
    lab.write_pillar(pillar)
    lab.first = lab.highstate()
    lab.second = lab.highstate()
    lab.zones = sorted(lab.salt_json("mx1", "mailserver_bind.zones")["mx1"])

    # BIND signs a new zone within seconds; the DS exists from then on
    def delegation():
        lines = lab.salt_json("mx1", "mailserver_bind.delegation")["mx1"]
        return lines if sum(" IN DS " in line for line in lines) >= len(lab.zones) else None

    lab.delegation = until(delegation, "BIND to sign every zone (a DS each)", 60, interval=1)
    lines = lab.delegation
    dns.delegate(lab.zones, lines)
    flags, proto, alg, key = dns.root_anchor().split(" ", 3)
    anchors = f'trust-anchors {{ . static-key {flags} {proto} {alg} "{key.replace(" ", "")}"; }};'
    lab.sh("peer", f"cat > {ANCHORS} <<'EOF'\n{anchors}\nEOF")
    yield lab
    dns.undelegate()
    lab.converged()  # the example pillar again (the next module shares it)


def delv(lab, name: str, rtype: str) -> str:
    """Validate ``name``/``rtype`` from the lab root's trust anchor down, through the peer's
    resolver (which passes the signatures on without judging them)."""
    return lab.sh(
        "peer", f"delv @{PEER.ip4} -a {ANCHORS} {name} {rtype} +nomultiline 2>&1", check=False
    ).stdout


def test_the_delegation_has_ns_glue_and_a_ds_for_every_zone(signed):
    text = "\n".join(signed.delegation)
    reverse = [ipaddress.ip_address(ip).reverse_pointer for ip in (MX1.ip4, MX1.ip6)]
    assert signed.zones == sorted(["example.com", "example.org", *reverse])
    for zone in signed.zones:
        assert f"{zone}. 3600 IN NS {MX1.fqdn}." in text
        assert f"{zone}. 3600 IN DS " in text
    assert f"{MX1.fqdn}. 3600 IN A {MX1.ip4}" in text  # glue: the NS is inside example.com


def test_every_record_validates_with_dnssec_from_the_root(signed):
    selector = next(
        line.split()[0].rstrip(".")
        for line in signed.salt_json("mx1", "mailserver_dns.records")["mx1"]
        if "._domainkey.example.org." in line
    )
    for name, rtype in (
        (MX1.fqdn, "A"),
        (MX1.fqdn, "AAAA"),
        ("example.org", "MX"),
        ("example.com", "TXT"),  # SPF
        ("_dmarc.example.com", "TXT"),
        (selector, "TXT"),
        ("_mta-sts.example.org", "TXT"),
        ("_smtp._tls.example.com", "TXT"),
        ("mta-sts.example.com", "AAAA"),
        (f"_25._tcp.{MX1.fqdn}", "TLSA"),
        ("10.100.51.198.in-addr.arpa", "PTR"),
        # what mail clients look up to set themselves up
        ("_submissions._tcp.example.org", "SRV"),
        ("_submission._tcp.example.com", "SRV"),
        ("_imaps._tcp.example.com", "SRV"),
        ("autoconfig.example.org", "A"),
        ("autodiscover.example.com", "AAAA"),
    ):
        out = delv(signed, name, rtype)
        assert "; fully validated" in out, (name, rtype, out)
        assert f" IN {rtype} " in " ".join(out.split()), (name, rtype, out)


def test_the_signed_tlsa_record_matches_the_certificate_served_on_port_25(signed, addr):
    out = delv(signed, f"_25._tcp.{MX1.fqdn}", "TLSA")
    assert "; fully validated" in out, out
    record = next(line for line in out.splitlines() if "TLSA" in line and not line.startswith(";"))
    usage, selector, mtype, *digest = record.split()[4:]  # delv splits long hex in chunks
    data = f"{usage} {selector} {mtype} {''.join(digest).lower()}"
    assert data == served_tlsa(signed, addr)


def test_a_forged_signature_is_refused_by_the_validator(signed):
    """The check can fail: delv calls a record bogus when its DS matches no key."""
    out = delv(signed, f"www.{dns.BOGUS}", "A")
    assert "; fully validated" not in out
    assert "resolution failed" in out or "validation" in out, out


def test_mx1_answers_for_its_zones_on_both_families_and_nobody_gets_recursion_or_a_transfer(
    signed, addr
):
    answer = signed.sh("peer", f"dig @{addr} +norec +dnssec example.org MX").stdout
    assert "status: NOERROR" in answer and " aa" in answer.split("flags:")[1].split(";")[0]
    assert "RRSIG" in answer
    recursion = signed.sh("peer", f"dig @{addr} +rec {PEER.fqdn} A").stdout
    assert "status: REFUSED" in recursion, recursion
    transfer = signed.sh("peer", f"dig @{addr} example.com AXFR", check=False).stdout
    assert "Transfer failed" in transfer and "IN\tDNSKEY" not in transfer, transfer


def test_mail_from_the_world_finds_mx1_through_the_delegation(signed):
    subject = tag("dnssec")
    peer_sends(signed, "carol@example.org", subject)
    assert inbox(signed, "carol@example.org", subject, timeout=60), "mail never arrived"


def test_the_status_check_sees_the_chain_of_trust_and_names_a_wrong_ds(signed):
    rc, ret = signed.status_check()
    names = {c["name"] for c in ret["checks"]}
    assert {"DNSSEC example.com", "DNSSEC example.org"} <= names
    assert rc == 0 and ret["ok"], ret["summary"]
    # the registrar publishes a DS of another key for example.org
    wrong = [
        line if not line.startswith("example.org. 3600 IN DS ") else line[:-8] + "00000000"
        for line in signed.delegation
    ]
    dns.publish(wrong, serial=int(time.time()) + 30)
    try:
        rc, ret = signed.status_check()
        failed = [c["name"] for c in ret["checks"] if not c["ok"]]
        assert rc != 0 and failed == ["DNSSEC example.org"], ret["summary"]
    finally:
        dns.publish(signed.delegation, serial=int(time.time()) + 31)


def test_a_pillar_change_reaches_the_signed_zone(signed):
    pillar = signed.read_pillar()
    strict = "v=DMARC1; p=reject; adkim=s; aspf=s"
    pillar["dns"]["dmarc"] = strict
    signed.write_pillar(pillar)
    try:
        _, ret = signed.apply("mx*", "mailserver.bind")
        zones = [v for v in ret["mx1"].values() if v["__id__"] == "mailserver-bind-zones-written"]
        serial = zones[0]["changes"]["example.com"]["serial"]
        assert serial["new"] > serial["old"]
        signed.sh("peer", "rndc flush")  # the world's caches forget the old record (TTL)
        out = delv(signed, "_dmarc.example.com", "TXT")
        assert "; fully validated" in out and strict in out, out
    finally:
        del pillar["dns"]["dmarc"]
        signed.write_pillar(pillar)
        signed.apply("mx*", "mailserver.bind")


def test_the_zone_keys_stay_private_to_bind_on_the_host(signed):
    keys = signed.sh("mx1", "stat -c '%U %a %n' /var/lib/bind/mailserver/keys/*.private").stdout
    lines = keys.splitlines()
    assert len(lines) == len(signed.zones), keys
    assert all(line.startswith("bind 600 ") for line in lines), keys
    secret = signed.sh("mx1", f"sed -n 's/^PrivateKey: //p' {lines[0].split()[2]}").stdout.strip()
    assert secret
    on_mx1, on_master = signed.files_holding(secret)
    assert on_mx1 == ""
    assert on_master == "", on_master


def test_second_highstate_reports_zero_changes(signed):
    changed = {v["__id__"]: v["changes"] for v in signed.second.values() if v["changes"]}
    assert changed == {}
