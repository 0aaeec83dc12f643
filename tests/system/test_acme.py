"""Certificates from an ACME CA: pebble on the peer issues mx1's certificate, every mail
service and nginx serve it (checked from the peer, the chain verified against pebble's root),
and a renewal by certbot's own service reaches every service without a manual restart.
With a certificate senders can verify, MTA-STS enforces: a real MTA-STS client and the
peer's Postfix (with postfix-mta-sts-resolver) deliver to mx1 only over verified TLS."""

from __future__ import annotations

import time

import pytest

from lab import acme, config, container, dns
from tests.system.mailclients import FAMILIES, PORTS, inbox, peer_sends, served_tlsa, tag

HOST = config.HOSTS["mx1"].fqdn
ROOT = "/tmp/pebble-root.pem"
# how each mail port starts TLS
PORT_TLS = {
    "smtp": "-starttls smtp",
    "submission": "-starttls smtp",
    "submissions": "",
    "imaps": "",
    "https": "",
}
POLICY_URL = "https://mta-sts.example.com/.well-known/mta-sts.txt"
POLICY = "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 604800\n"


@pytest.fixture(scope="module")
def acme_lab(lab_session):
    lab = lab_session.ensure_up()
    # the records below come from a converged host (shared when a module before left one;
    # run alone on a fresh lab, this is its first converge)
    lab.converged()
    pillar = lab.read_pillar()
    pillar["tls"] = {
        "acme": {
            "enabled": True,
            "server": acme.directory(),
            "email": "postmaster@example.com",
            "ca_bundle": acme.ca_pem(container.root("peer")),
        }
    }
    lab.write_pillar(pillar)
    # the names the certificate covers resolve first (pebble validates through the lab's DNS)
    records = lab.salt_json("mx1", "mailserver_dns.records")["mx1"]
    dns.publish(records, serial=int(time.time()))
    lab.first = lab.highstate()
    lab.second = lab.highstate()
    lab.sh("peer", f"curl -sfk https://127.0.0.1:{acme.MGMT_PORT}/roots/0 > {ROOT}")
    yield lab
    lab.converged()  # back to the self-signed certificate (the next module shares it)


def served(lab, addr, port_name) -> dict:
    """The certificate mx1 serves on a port, as the peer sees it, verified against pebble."""
    target = f"[{addr}]" if ":" in addr else addr
    proc = lab.sh(
        "peer",
        f"openssl s_client -connect {target}:{PORTS[port_name]} {PORT_TLS[port_name]} "
        f"-servername {HOST} -verify_hostname {HOST} -CAfile {ROOT} -verify_return_error "
        "</dev/null 2>/dev/null | tee /tmp/s_client.out | openssl x509 -noout -serial -issuer; "
        "grep 'Verify return code' /tmp/s_client.out",
        check=False,
    )
    out = dict(
        line.split("=", 1) if "=" in line else ("verify", line)
        for line in proc.stdout.splitlines()
        if line.strip()
    )
    return out


def test_the_certificate_is_issued_by_the_acme_ca_and_served_on_every_port(acme_lab, addr):
    for port_name in PORT_TLS:
        cert = served(acme_lab, addr, port_name)
        assert "Pebble Intermediate CA" in cert.get("issuer", ""), (port_name, cert)
        assert "0 (ok)" in cert.get("verify", ""), (port_name, cert)


def published_tlsa(lab) -> str:
    records = lab.salt_json("mx1", "mailserver_dns.records")["mx1"]
    (line,) = [r for r in records if " IN TLSA " in r]
    return line.split(" IN TLSA ", 1)[1]


def test_the_tlsa_record_matches_the_served_certificate(acme_lab, addr):
    assert published_tlsa(acme_lab) == served_tlsa(acme_lab, addr)


def test_second_highstate_reports_zero_changes(acme_lab):
    changed = {v["__id__"]: v["changes"] for v in acme_lab.second.values() if v["changes"]}
    assert changed == {}


def test_a_renewal_by_certbots_timer_service_reaches_every_service(acme_lab):
    addr = FAMILIES["ipv4"]
    before = {p: served(acme_lab, addr, p)["serial"] for p in PORT_TLS}
    assert len(set(before.values())) == 1
    # due now: what the timer's daily run does when a certificate nears its end
    acme_lab.sh(
        "mx1",
        "sed -i '/^renew_before_expiry/d' /etc/letsencrypt/renewal/mailserver.conf && "
        "sed -i '1i renew_before_expiry = 100000 days' /etc/letsencrypt/renewal/mailserver.conf "
        "&& systemctl start certbot.service",
        timeout=300,
    )
    after = {p: served(acme_lab, addr, p)["serial"] for p in PORT_TLS}
    acme_lab.sh("mx1", "sed -i '/^renew_before_expiry/d' /etc/letsencrypt/renewal/mailserver.conf")
    assert len(set(after.values())) == 1, after
    assert set(after.values()) != set(before.values()), "still the old certificate"
    # the key stays across renewals: the published TLSA record stays right
    assert published_tlsa(acme_lab) == served_tlsa(acme_lab, addr)


def test_the_mta_sts_policy_is_served_over_https_and_enforces(acme_lab, addr):
    family = "-6" if ":" in addr else "-4"
    proc = acme_lab.sh("peer", f"curl -sS --fail {family} --cacert {ROOT} {POLICY_URL}")
    assert proc.stdout == POLICY


def test_a_real_mta_sts_client_finds_a_valid_enforcing_policy(acme_lab):
    """mta-sts-query: the _mta-sts TXT record, then the policy over HTTPS, the certificate
    checked against the CAs it trusts (here pebble's root)."""
    out = acme_lab.sh("peer", f"SSL_CERT_FILE={ROOT} mta-sts-query example.org").stdout
    assert "VALID" in out and "'enforce'" in out and "mx1.example.com" in out, out
    untrusted = acme_lab.sh("peer", "mta-sts-query example.org", check=False).stdout
    assert "'enforce'" not in untrusted, untrusted  # no trust in the CA, no policy


@pytest.fixture
def sts_sender(acme_lab):
    """The peer's Postfix asks postfix-mta-sts-resolver for each domain's TLS policy."""
    lab = acme_lab
    trusted = "/etc/ssl/lab-pebble-root.pem"  # the daemon has a private /tmp
    lab.sh(
        "peer",
        f"cp {ROOT} {trusted} && "
        "mkdir -p /etc/systemd/system/postfix-mta-sts-resolver.service.d && "
        "printf '[Service]\\nEnvironment=SSL_CERT_FILE=%s\\n' "
        f"{trusted} > /etc/systemd/system/postfix-mta-sts-resolver.service.d/lab.conf && "
        "systemctl daemon-reload && systemctl restart postfix-mta-sts-resolver && "
        "postconf -e smtp_tls_policy_maps=socketmap:inet:127.0.0.1:8461:postfix "
        f"smtp_tls_CAfile={trusted} smtp_tls_loglevel=1 && postfix reload",
    )
    yield lab
    lab.sh(
        "peer",
        "postconf -X smtp_tls_policy_maps smtp_tls_CAfile smtp_tls_loglevel && postfix reload",
    )


def test_a_sender_honouring_mta_sts_delivers_over_verified_tls(sts_sender):
    lab = sts_sender
    since = lab.sh("peer", "date +'%Y-%m-%d %H:%M:%S'").stdout.strip()
    subject = tag("sts")
    peer_sends(lab, "alice@example.com", subject)
    assert inbox(lab, "alice@example.com", subject, timeout=60), "mail never arrived"
    log = lab.sh("peer", f"journalctl --since '{since}' -o cat | grep -i 'TLS connection'").stdout
    assert "Verified TLS connection established to mx1.example.com" in log, log
