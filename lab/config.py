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

Two labs can run side by side (``make test`` runs the system tier in two, each with its own
share of the test modules): ``MSLAB_SLOT`` (0, the default, or 1) picks the lab. Each has
its own names (netns, veths), state directory, master and apt proxy, and its own half of
198.51.100.0/24 (slot 0 the lower, slot 1 the upper) and its own 2001:db8:10<slot>::/64; a
host's IPv6 address ends in the digits of its IPv4 address's last octet within the slot's
half (mx1: 198.51.100.10 and 2001:db8:100::10 in slot 0, .138 and 2001:db8:101::10 in slot
1).
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SLOTS = 2
SLOT = int(os.environ.get("MSLAB_SLOT", "0"))
if SLOT not in range(SLOTS):
    raise RuntimeError(f"MSLAB_SLOT={SLOT}: the lab slots are 0 to {SLOTS - 1}")

# Netns, interface and process names all start with this prefix, so a stale lab
# can be found and removed without touching anything else on the host (nor the other slot's).
PREFIX = "mslab" if SLOT == 0 else f"mslab{SLOT}"

# the lab's ranges, halved between the slots (IPv4) or one /64 each (IPv6)
LAB4 = ipaddress.ip_network("198.51.100.0/24")
NET4 = list(LAB4.subnets(new_prefix=25))[SLOT]
NET6 = ipaddress.ip_network(f"2001:db8:{100 + SLOT}::/64")


def address(n: int) -> tuple[str, str]:
    """The lab's address number ``n`` (1 to 126): IPv4 in this slot's half, and the IPv6
    address that ends in the same digits (slot 0: 198.51.100.n and 2001:db8:100::n)."""
    return str(NET4.network_address + n), str(NET6.network_address + int(str(n), 16))


# slot 0's addresses as they are written: 198.51.100.n or 2001:db8:100::n
_SLOT0 = re.compile(
    r"(?<![0-9a-fA-F:.])(198\.51\.100\.|2001:db8:100::)(\d{1,3})(?![0-9a-fA-F:.]*[0-9a-fA-F])"
)


def localize(text: str) -> str:
    """``text`` (the example pillar, say) with slot 0's lab addresses replaced by this
    slot's: the example pillar names the lab's peer by address."""

    def here(m: re.Match) -> str:
        n = int(m[2])
        family = 1 if ":" in m[1] else 0
        return address(n)[family] if 1 <= n <= 126 else m[0]

    return text if SLOT == 0 else _SLOT0.sub(here, text)


def example_pillar() -> str:
    """The formula's example pillar (pillar/mailserver.sls) as this slot's lab serves it."""
    return localize((REPO / "pillar" / "mailserver.sls").read_text())


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

HOST_IP4, HOST_IP6 = address(1)

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
# (shared by the slots: images and wheels; each slot has its own apt proxy cache)
STATE = Path(os.environ.get("MSLAB_STATE", "/var/lib/mailserver-lab"))
if SLOT:
    STATE = STATE.with_name(f"{STATE.name}-{SLOT}")
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
    "mx1": Host("mx1", f"mx1.{LAB_DOMAIN}", *address(10), "base", True),
    "mx2": Host("mx2", f"mx2.{LAB_DOMAIN}", *address(11), "base", False, True),
    "peer": Host("peer", f"peer.{PEER_DOMAIN}", *address(20), "peer", False),
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
