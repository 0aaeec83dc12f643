"""The lab's ACME CA: pebble (Let's Encrypt's test server, packaged by Debian) on the peer.

Debian's pebble ships no certificate for its own HTTPS listener: the lab makes a small CA
and a certificate for the peer's name each time the peer is configured. A mail host trusts
that CA to talk to the ACME directory (pillar ``tls:acme:ca_bundle``); the certificates
pebble issues chain to a root pebble makes at start, served on its management port.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from . import config

PORT, MGMT_PORT = 14000, 15000
CONF_DIR = "etc/pebble"


def directory() -> str:
    return f"https://{config.HOSTS['peer'].fqdn}:{PORT}/dir"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certs() -> tuple[bytes, bytes, bytes]:
    """(CA certificate, listener certificate, listener key) as PEM."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("mailserver lab ACME directory CA"))
        .issuer_name(_name("mailserver lab ACME directory CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    peer = config.HOSTS["peer"]
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [
        x509.DNSName(peer.fqdn),
        x509.IPAddress(ipaddress.ip_address(peer.ip4)),
        x509.IPAddress(ipaddress.ip_address(peer.ip6)),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(peer.fqdn))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    enc = serialization.Encoding.PEM
    return ca.public_bytes(enc), cert.public_bytes(enc), _pem(key)


def configure_peer(root: Path) -> None:
    """Write pebble's configuration, its listener's certificate and a unit into the peer."""
    conf = root / CONF_DIR
    conf.mkdir(parents=True, exist_ok=True)
    ca, cert, key = _certs()
    (conf / "ca.pem").write_bytes(ca)
    (conf / "cert.pem").write_bytes(cert)
    (conf / "key.pem").write_bytes(key)
    (conf / "key.pem").chmod(0o600)
    (conf / "pebble-config.json").write_text(
        json.dumps(
            {
                "pebble": {
                    "listenAddress": f"[::]:{PORT}",
                    "managementListenAddress": f"[::]:{MGMT_PORT}",
                    "certificate": f"/{CONF_DIR}/cert.pem",
                    "privateKey": f"/{CONF_DIR}/key.pem",
                    # validations go to the standard ports, as Let's Encrypt's do
                    "httpPort": 80,
                    "tlsPort": 443,
                    "ocspResponderURL": "",
                    "externalAccountBindingRequired": False,
                }
            },
            indent=2,
        )
    )
    peer = config.HOSTS["peer"]
    unit = root / "etc/systemd/system/pebble.service"
    unit.write_text(
        "[Unit]\nDescription=pebble, the lab's ACME CA\nAfter=named.service network.target\n\n"
        "[Service]\n"
        # no random validation delays, no nonces refused on purpose: the lab wants speed
        "Environment=PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0\n"
        f"ExecStart=/usr/bin/pebble -config /{CONF_DIR}/pebble-config.json "
        f"-dnsserver {peer.ip4}:53\n"
        "Restart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n"
    )
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / "pebble.service"
    if not link.exists():
        link.symlink_to("/etc/systemd/system/pebble.service")


def ca_pem(root: Path) -> str:
    """The CA a mail host must trust to reach pebble's directory."""
    return (root / CONF_DIR / "ca.pem").read_text()
