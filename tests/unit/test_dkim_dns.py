"""Unit tests of DKIM keys (made, kept private, published as public halves) and of the DNS
records built from them. No OpenDKIM, no DNS server."""

from __future__ import annotations

import base64
import datetime
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization

from tests.unit.conftest import load


@pytest.fixture
def dkim(minion, model, tmp_path):
    model(dkim={"key_dir": str(tmp_path / "keys")})  # the run's model: where keys live
    module = minion.mods["mailserver_dkim"]
    module._ids = lambda user: (os.getuid(), os.getgid())
    return module


def test_a_new_key_is_private_rsa_2048_and_only_its_public_half_comes_out(dkim, tmp_path):
    sel = dkim.generate("example.com")
    assert sel == dkim._new_selector()
    path = tmp_path / "keys/example.com" / f"{sel}.private"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pem = path.read_bytes()
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    pub = dkim.public_keys()["example.com"][sel]
    assert pub["bits"] == 2048 and pub["active"] is True
    der = base64.b64decode(pub["p"])
    key = serialization.load_der_public_key(der)
    assert key.key_size == 2048
    assert pub["record"] == f"v=DKIM1; k=rsa; p={pub['p']}"
    assert b"PRIVATE" not in repr(dkim.public_keys()).encode()


def test_selectors_sort_by_age_and_the_active_one_signs(dkim):
    old = dkim.generate("example.com", selector="s202601")
    new = dkim.generate("example.com", selector="s202611")
    assert dkim.selectors("example.com") == {"selectors": [old, new], "active": new}
    dkim.activate("example.com", old)
    assert dkim.selectors("example.com")["active"] == old
    tables = dkim.tables(["example.com", "example.org"])
    assert tables["signing_table"].splitlines() == [
        "*@example.com s202601._domainkey.example.com",
        "*@*.example.com s202601._domainkey.example.com",
    ]
    assert tables["key_table"].startswith("s202601._domainkey.example.com example.com:s202601:")


def test_generate_keeps_an_existing_key(dkim, tmp_path):
    sel = dkim.generate("example.com", selector="s202611", bits=1024)
    path = tmp_path / "keys/example.com/s202611.private"
    before = path.read_bytes()
    assert dkim.generate("example.com", selector=sel) == sel
    assert path.read_bytes() == before


def test_selector_names_are_checked(dkim):
    with pytest.raises(Exception, match="not a usable DKIM selector"):
        dkim.generate("example.com", selector="../etc")


def test_selector_of_a_date():
    dkim = load("mailserver_dkim")
    when = datetime.datetime(2026, 11, 25, tzinfo=datetime.UTC)
    assert dkim._new_selector(when) == "s202611"
    # another host of a cluster: its own names (two hosts never publish two keys under one)
    assert dkim._new_selector(when, taken=["mx2-s202611"], prefix="mx2-") == "mx2-s202611b"


def test_records_name_every_domain_and_selector(minion, model):
    settings = model(tls={"cert_file": "/nonexistent"})  # no certificate yet: no TLSA
    dns = minion.mods["mailserver_dns"]
    long_key = "A" * 400
    keys = {"example.com": {"s202611": {"record": f"v=DKIM1; k=rsa; p={long_key}"}}}
    lines = dns.records(settings, dkim=keys)
    assert "mx1.example.com. 3600 IN A 198.51.100.10" in lines
    assert "mx1.example.com. 3600 IN AAAA 2001:db8:100::10" in lines
    assert not any("fe80" in line or "127.0.0.1" in line for line in lines)
    assert "example.org. 3600 IN MX 10 mx1.example.com." in lines
    assert 'example.com. 3600 IN TXT "v=spf1 mx -all"' in lines
    assert any(line.startswith("_dmarc.example.org. 3600 IN TXT") for line in lines)
    dkim_line = next(line for line in lines if "_domainkey" in line)
    # longer than 255 characters: split into several strings of one TXT record
    assert dkim_line.count('" "') == 1
    assert "10.100.51.198.in-addr.arpa. 3600 IN PTR mx1.example.com." in lines
    # MTA-STS: the policy's host, its id (a digest of the policy), TLS-RPT to the postmaster
    assert "mta-sts.example.org. 3600 IN AAAA 2001:db8:100::10" in lines
    sts_id = settings["dns"]["mta_sts"]["id"]
    assert f'_mta-sts.example.com. 3600 IN TXT "v=STSv1; id={sts_id}"' in lines
    rua = "rua=mailto:postmaster@example.org"
    assert f'_smtp._tls.example.org. 3600 IN TXT "v=TLSRPTv1; {rua}"' in lines
    # the same records as data: each names the status check item that judges it
    items = {r["item"] for r in dns.record_set(settings, dkim=keys)}
    assert {"SPF example.com", "DKIM s202611._domainkey.example.com", "PTR 198.51.100.10"} <= items
    assert "A mta-sts.example.org" in items


def test_rotation_overlaps_selectors_and_switches_only_once_dns_serves_the_successor(dkim):
    day = datetime.timedelta(days=1)
    first = dkim.generate("example.com")
    dkim.activate("example.com", first)
    now = datetime.datetime.now(datetime.UTC)
    assert dkim.rotation_plan("example.com", 180, 7, now=now + 179 * day)["start"] is False
    assert dkim.rotation_plan("example.com", 180, 7, now=now + 181 * day)["start"] is True
    assert dkim.rotation_plan("example.com", 0, 7, now=now + 999 * day)["start"] is False
    successor = dkim.rotate("example.com")
    assert successor == first + "b"  # same month: a letter, sorting after the first
    assert dkim.rotate("example.com") == successor  # one rotation at a time
    assert dkim.selectors("example.com")["active"] == first  # still signing with the old
    dkim.published = lambda domain, selector, key_dir=None: False
    assert dkim.rotation_plan("example.com", 180, 7)["switch"] is None
    dkim.published = lambda domain, selector, key_dir=None: selector == successor
    assert dkim.rotation_plan("example.com", 180, 7)["switch"] == successor
    done = dkim.switch("example.com", successor, 7)
    assert done["retiring"] == first
    assert dkim.selectors("example.com")["active"] == successor
    # the old key stays published for a week, then goes
    assert set(dkim.public_keys()["example.com"]) == {first, successor}
    assert dkim.rotation_plan("example.com", 180, 7, now=now + 6 * day)["retire"] == []
    plan = dkim.rotation_plan("example.com", 180, 7, now=now + 8 * day)
    assert plan == {"start": False, "switch": None, "retire": [first]}
    dkim.retire("example.com", first)
    assert set(dkim.public_keys()["example.com"]) == {successor}
    with pytest.raises(Exception, match="switch first"):
        dkim.retire("example.com", successor)


def test_tlsa_is_the_sha256_of_the_certificates_public_key(tmp_path):
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mx1.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    dns = load("mailserver_dns")
    assert dns.certificate(str(path))["tlsa"] == "3 1 1 " + hashlib.sha256(spki).hexdigest()


def test_the_records_name_every_mail_host_and_the_clients_find_the_primary(minion, model):
    hosts = {
        "mx1.example.com": {"roles": ["primary"]},
        "mx2.example.com": {"roles": ["backup_mx"], "ipv4": ["198.51.100.11"],
                            "ipv6": ["2001:db8:100::11"]},
    }  # fmt: skip
    settings = model(cluster={"hosts": hosts}, tls={"cert_file": "/nonexistent"})
    lines = minion.mods["mailserver_dns"].records(settings, dkim={})
    for domain in ("example.com", "example.org"):
        assert f"{domain}. 3600 IN MX 10 mx1.example.com." in lines
        assert f"{domain}. 3600 IN MX 20 mx2.example.com." in lines
        # the webmail, the policy and the clients' settings are the primary's
        assert f"mta-sts.{domain}. 3600 IN A 198.51.100.10" in lines
        assert f"autoconfig.{domain}. 3600 IN A 198.51.100.10" in lines
        assert f"_imaps._tcp.{domain}. 3600 IN SRV 0 1 993 mx1.example.com." in lines
    assert not any("mta-sts" in line and "198.51.100.11" in line for line in lines)
    assert "mx2.example.com. 3600 IN A 198.51.100.11" in lines
    assert "mx2.example.com. 3600 IN AAAA 2001:db8:100::11" in lines
    assert "11.100.51.198.in-addr.arpa. 3600 IN PTR mx2.example.com." in lines
    assert "10.100.51.198.in-addr.arpa. 3600 IN PTR mx1.example.com." in lines
