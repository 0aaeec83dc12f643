"""The peer: the outside world's DNS (dns.py) and its MTA, which receives mail for
example.net into one mailbox (``sink``) so tests can read what mx1 sent out. Like a strict
receiving provider it checks what comes in: OpenDKIM verifies signatures, OpenDMARC checks
SPF and DMARC, and both write their verdicts into Authentication-Results headers."""

from __future__ import annotations

from pathlib import Path

from . import acme, config, dns

SINK = "sink"
DKIM_PORT, DMARC_PORT = 8891, 8893


def configure(root: Path) -> None:
    dns.configure_peer(root)
    acme.configure_peer(root)
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
        # a sender that retries within seconds (Postfix's defaults wait minutes), and one
        # transport per address family, chosen by the recipient's +ipv4/+ipv6 extension
        "minimal_backoff_time = 5s\nmaximal_backoff_time = 10s\nqueue_run_delay = 5s\n"
        "transport_maps = regexp:/etc/postfix/family.regexp\n"
        "biff = no\nreadme_directory = no\n"
        f"smtpd_milters = inet:127.0.0.1:{DKIM_PORT}, inet:127.0.0.1:{DMARC_PORT}\n"
        "milter_default_action = tempfail\n"
    )
    (root / "etc/postfix/family.regexp").write_text("/\\+ipv4@/ smtp4:\n/\\+ipv6@/ smtp6:\n")
    master_cf = root / "etc/postfix/master.cf"
    if "smtp4" not in master_cf.read_text():
        with master_cf.open("a") as fh:
            for family in ("ipv4", "ipv6"):
                fh.write(f"smtp{family[-1]} unix - - - - - smtp -o inet_protocols={family}\n")
    (root / "etc/opendkim.conf").write_text(
        "Syslog yes\nUMask 007\nUserID opendkim\nPidFile /run/opendkim/opendkim.pid\n"
        f"Socket inet:{DKIM_PORT}@127.0.0.1\nMode v\nAuthservID {peer.fqdn}\n"
        # its resolver library would otherwise recurse from the real root, out of reach
        f"Nameservers {peer.ip4}\n"
    )
    (root / "etc/opendmarc.conf").write_text(
        "Syslog true\nUMask 0002\nUserID opendmarc\nPidFile /run/opendmarc/opendmarc.pid\n"
        f"Socket inet:{DMARC_PORT}@127.0.0.1\nAuthservID {peer.fqdn}\n"
        f"TrustedAuthservIDs {peer.fqdn}\nSPFSelfValidate true\nSPFIgnoreResults true\n"
        # verdicts only: the tests read them from the delivered message
        "RejectFailures false\nIgnoreHosts /etc/opendmarc/ignore.hosts\n"
    )
    # the lab's time server: its own clock (the machine's) at stratum 8, for lab hosts only;
    # in a container chronyd tracks the clock without setting it
    (root / "etc/chrony/chrony.conf").write_text(
        "local stratum 8\n"
        f"allow {config.NET4}\nallow {config.NET6}\n"
        "driftfile /var/lib/chrony/chrony.drift\n"
    )
    (root / "etc/default/chrony").write_text('DAEMON_OPTS="-F 1 -x"\n')
    dropin = root / "etc/systemd/system/chrony.service.d"
    dropin.mkdir(parents=True, exist_ok=True)
    (dropin / "lab.conf").write_text("[Unit]\nConditionCapability=\n")
    (root / "etc/opendmarc").mkdir(exist_ok=True)
    (root / "etc/opendmarc/ignore.hosts").write_text("127.0.0.1\n::1\n")
    (root / "etc/mailname").write_text(config.PEER_DOMAIN + "\n")
