"""The peer: the outside world's DNS (dns.py) and its MTA, which receives mail for
example.net into one mailbox (``sink``) so tests can read what mx1 sent out."""

from __future__ import annotations

from pathlib import Path

from . import config, dns

SINK = "sink"


def configure(root: Path) -> None:
    dns.configure_peer(root)
    peer = config.HOSTS["peer"]
    (root / "etc/postfix/main.cf").write_text(
        "compatibility_level = 3.6\n"
        f"myhostname = {peer.fqdn}\n"
        f"mydestination = {config.PEER_DOMAIN}, {peer.fqdn}, localhost\n"
        "inet_interfaces = all\ninet_protocols = all\n"
        "mynetworks = 127.0.0.0/8 [::1]/128\n"
        # every address of the domain lands in one mailbox
        f"local_recipient_maps =\nluser_relay = {SINK}\nalias_maps =\nalias_database =\n"
        "smtp_tls_security_level = may\n"
        "biff = no\nreadme_directory = no\n"
    )
    (root / "etc/mailname").write_text(config.PEER_DOMAIN + "\n")
