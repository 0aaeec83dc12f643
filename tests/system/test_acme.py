"""Certificates from an ACME CA: pebble on the peer issues mx1's certificate, every mail
service serves it (checked from the peer, the chain verified against pebble's root), and a
renewal by certbot's own service reaches every service without a manual restart."""

from __future__ import annotations

import pytest

from tests.lab import acme, config, container
from tests.system.mailclients import FAMILIES, PORTS

HOST = config.HOSTS["mx1"].fqdn
ROOT = "/tmp/pebble-root.pem"
# how each mail port starts TLS
PORT_TLS = {
    "smtp": "-starttls smtp",
    "submission": "-starttls smtp",
    "submissions": "",
    "imaps": "",
}


@pytest.fixture(scope="module")
def acme_lab(lab_session):
    lab = lab_session.ensure_up()
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
    lab.first = lab.highstate()
    lab.second = lab.highstate()
    lab.sh("peer", f"curl -sfk https://127.0.0.1:{acme.MGMT_PORT}/roots/0 > {ROOT}")
    yield lab
    lab.reset_pillar()
    lab.highstate()  # back to the self-signed certificate


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


def served_tlsa(lab, addr) -> str:
    """TLSA 3 1 1 data of the certificate served on port 25, computed on the peer."""
    target = f"[{addr}]" if ":" in addr else addr
    digest = lab.sh(
        "peer",
        f"openssl s_client -connect {target}:{PORTS['smtp']} -starttls smtp </dev/null "
        "2>/dev/null | openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER "
        "| sha256sum",
    ).stdout.split()[0]
    return f"3 1 1 {digest}"


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
