"""The lab's facts, in one place: names, addresses, paths, images.

The lab is a private network of Debian 12 hosts booted with systemd-nspawn:

* ``mx1``: the mail host under test, a minimal Debian 12 with only a salt-minion (which
  knows nothing but its master's address); Salt installs everything else through the
  host's apt proxy.
* ``mx2``: a second fresh host of the same image, run masterless (``salt-call --local``)
  from a copy of the formula, as users without a master run it.
* ``peer``: the outside world (another MTA, clients, probes, the lab's DNS).
* the host itself, on the same bridge, runs the salt-master and the apt proxy.

Address ranges are documentation ranges that this kind of machine does not route;
``network.check_ranges`` refuses to start if that ever changes. 192.0.2.0/24,
203.0.113.0/24 and fd00::/8 belong to the host and never appear here.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Netns, interface and process names all start with this prefix, so a stale lab
# can be found and removed without touching anything else on the host.
PREFIX = "mslab"

NET4 = ipaddress.ip_network("198.51.100.0/24")
NET6 = ipaddress.ip_network("2001:db8:100::/64")
FORBIDDEN = [
    ipaddress.ip_network(n)
    for n in (
        "192.0.2.0/24",
        "203.0.113.0/24",
        "fd00::/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
    )
]

HOST_IP4 = "198.51.100.1"
HOST_IP6 = "2001:db8:100::1"

LAB_DOMAIN = "example.com"  # the mail host's domain (pillar/mailserver.sls uses it too)
MAIL_DOMAINS = ("example.com", "example.org")  # what mx1 receives for (the example pillar)
PEER_DOMAIN = "example.net"  # the outside world's domain: the peer receives its mail

APT_PROXY_PORT = 3149  # not 3142, where a system apt-cacher-ng may listen
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SECURITY = "http://deb.debian.org/debian-security"
SUITE = "bookworm"

# Read-only in the peer: the probes tests run from there (real clients, from outside).
PROBES = REPO / "lab" / "probes"
PEER_PROBES = "/opt/probes"

# Where things live on the host, outside any clone (CI clones afresh every run).
CACHE = Path(os.environ.get("MSLAB_CACHE", "/var/cache/mailserver-lab"))
STATE = Path(os.environ.get("MSLAB_STATE", "/var/lib/mailserver-lab"))
# pillar only the lab knows (its DNS root's trust anchor): the first pillar root of the lab's
# masters, its top.sls adds `lab` to the example pillar
LAB_PILLAR = STATE / "pillar"


@dataclass(frozen=True)
class Host:
    name: str
    fqdn: str
    ip4: str
    ip6: str
    image: str
    minion: bool  # a salt-minion of the lab's master
    masterless: bool = False  # the formula applied with salt-call --local

    @property
    def netns(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def veth(self) -> str:
        # the end that stays in the lab bridge namespace (IFNAMSIZ is 15)
        return f"{PREFIX}-{self.name}"[:15]


HOSTS = {
    "mx1": Host("mx1", f"mx1.{LAB_DOMAIN}", "198.51.100.10", "2001:db8:100::10", "base", True),
    "mx2": Host(
        "mx2", f"mx2.{LAB_DOMAIN}", "198.51.100.11", "2001:db8:100::11", "base", False, True
    ),
    "peer": Host("peer", f"peer.{PEER_DOMAIN}", "198.51.100.20", "2001:db8:100::20", "peer", False),
}
# where a masterless host has the formula (a read-only copy of this repository, or of the one
# MSLAB_FORMULA names: another version, to compare) and its pillar
FORMULA_DIR = "/srv/mailserver-formula"
FORMULA_SOURCE = Path(os.environ.get("MSLAB_FORMULA", REPO))
MASTERLESS_PILLAR = "/srv/pillar"
BRIDGE_NETNS = f"{PREFIX}-br"
HOST_VETH = f"{PREFIX}-host"

# Images: what each one holds beyond Debian minbase. Changing a list rebuilds that image.
BASE_PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "iputils-ping",
    "python3",
    "python3-venv",
    "ca-certificates",
    "procps",
    "less",
    "fuse3",
]
PEER_PACKAGES = [
    *BASE_PACKAGES,
    "bind9",
    "bind9-dnsutils",
    "swaks",
    "openssl",
    "curl",
    "netcat-openbsd",
    "python3-dnspython",
    # a real MTA-STS client (mta-sts-query, and a policy daemon for Postfix)
    "postfix-mta-sts-resolver",
    "postfix",
    "opendkim",
    "opendmarc",
    "chrony",
    "pebble",
    "openssh-client",
    "nmap",
    # a real browser for the webmail (driven over WebDriver from the host)
    "chromium",
    "chromium-driver",
    "fonts-dejavu-core",
    # TLS as the scanners see it
    "testssl.sh",
]
IMAGES = {"base": BASE_PACKAGES, "peer": PEER_PACKAGES}


def salt_requirement() -> str:
    """The salt pin, read from requirements.txt (the one place it is written)."""
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.strip().startswith("salt=="):
            return line.strip()
    raise RuntimeError("requirements.txt pins no salt==VERSION")
