"""The lab's DNS, served by BIND 9 on the peer.

The peer is authoritative for a private root zone, signed with DNSSEC (its key is the lab's
trust anchor, handed to mx1's resolver through the lab's pillar), so any name outside the
lab gets a quick, validated NXDOMAIN instead of a time-out. It holds every address's PTR
itself and delegates to the zones the peer also serves: the lab's two mail domains, the peer's
domain and ``dnssec-failed.test``, whose DS in the root
matches no key (a resolver that validates refuses its answers). The peer is recursive for lab
hosts only.

The mail domains are the peer's (a DNS provider's, records published with :func:`publish`)
until :func:`delegate` hands them to mx1's own BIND (a registrar's delegation with DS).
"""

from __future__ import annotations

import ipaddress
import os
import time
from pathlib import Path

from . import config, container

SERIAL = 1
BOGUS = "dnssec-failed.test"  # signed, says its parent; it is not
ZDIR = "/var/lib/bind/lab"

# the mail domains (and mx1's reverse names) mx1 serves itself, once delegated
_delegated: set[str] = set()
_last_serial = SERIAL


def _next_serial(wanted: int) -> int:
    """``wanted``, or more: a zone's serial never goes back (BIND would keep the old text)."""
    global _last_serial
    _last_serial = max(wanted, _last_serial + 1)
    return _last_serial


def _soa(origin: str, serial: int = SERIAL) -> str:
    ns = config.HOSTS["peer"].fqdn
    # a short negative TTL: a name published a moment later is seen a moment later
    return (
        f"$ORIGIN {origin}\n$TTL 300\n"
        f"@ IN SOA {ns}. hostmaster.{config.PEER_DOMAIN}. {serial} 3600 600 86400 5\n"
        f"@ IN NS {ns}.\n"
    )


def zones(serial: int = SERIAL) -> dict[str, str]:
    """Zone name -> zone file text, derived from config.HOSTS (without the zones delegated
    to mx1, which the root then delegates by the records :func:`delegate` got)."""
    hosts = list(config.HOSTS.values())
    mx1, peer = config.HOSTS["mx1"], config.HOSTS["peer"]
    out = {".": _soa(".", serial)}
    for domain in sorted({*config.MAIL_DOMAINS, config.PEER_DOMAIN} - _delegated):
        text = _soa(domain + ".", serial)
        for h in hosts:
            if h.fqdn.endswith("." + domain):
                label = h.fqdn[: -len(domain) - 1]
                text += f"{label} IN A {h.ip4}\n{label} IN AAAA {h.ip6}\n"
        mx = peer if domain == config.PEER_DOMAIN else mx1
        text += f"@ IN MX 10 {mx.fqdn}.\n"
        out[domain] = text
    # the PTRs live in the signed root itself, so a reverse name mx1 serves can be
    # delegated with a DS that chains to the lab's trust anchor
    for h in hosts:
        for ip in (h.ip4, h.ip6):
            name = ipaddress.ip_address(ip).reverse_pointer
            if name not in _delegated:
                out["."] += f"{name}. IN PTR {h.fqdn}.\n"
    out[BOGUS] = _soa(BOGUS + ".", serial) + f"www IN A {peer.ip4}\n"
    # the root delegates each zone to the peer; glue for the peer's own name
    for name in out:
        if name != ".":
            out["."] += f"{name}. IN NS {peer.fqdn}.\n"
    out["."] += f"{peer.fqdn}. IN A {peer.ip4}\n{peer.fqdn}. IN AAAA {peer.ip6}\n"
    # a DS no key of the zone matches: validating resolvers must refuse its answers
    out["."] += f"{BOGUS}. IN DS 12345 13 2 {'ab' * 32}\n"
    return out


def _file(name: str) -> str:
    return "root" if name == "." else name


def _named_conf_local(names) -> str:
    out = ""
    for name in names:
        out += f'zone "{name}" {{ type primary; file "{ZDIR}/{_file(name)}.zone";'
        if name == ".":
            out += f' dnssec-policy default; inline-signing yes; key-directory "{ZDIR}/keys";'
        out += " };\n"
    return out


def _flush_mx1() -> None:
    """What the world published is what mx1's resolver sees next: as if every TTL ran out."""
    container.sh("mx1", "if command -v rndc >/dev/null; then rndc flush; fi", check=False)


def publish(records: list[str], serial: int) -> dict[str, int]:
    """Publish ``records`` (zone-file lines with absolute names, as an admin copies them
    from ``mailserver_dns.records`` or ``mailserver_bind.delegation``) in the peer's zones,
    as a provider's DNS would: each line goes to the zone it belongs to, the zones are
    rewritten with a new serial and reloaded. Returns how many records each zone got."""
    texts = zones(_next_serial(serial))
    count = dict.fromkeys(texts, 0)
    for line in records:
        owner = line.split()[0].rstrip(".").lower()
        zone = max(
            (z for z in texts if z == "." or owner == z or owner.endswith("." + z)),
            key=lambda z: 0 if z == "." else len(z),
        )
        texts[zone] += line + "\n"
        count[zone] += 1
    zdir = container.root("peer") / ZDIR.lstrip("/")
    changed = sorted(z for z, n in count.items() if n)
    for name in changed:
        (zdir / f"{_file(name)}.zone").write_text(texts[name])
        zfile = f"{ZDIR}/{_file(name)}.zone"
        container.exec_("peer", "named-checkzone", name, zfile, timeout=30)
        container.exec_("peer", "rndc", "reload", name, timeout=30)
    _flush_mx1()
    return {z: count[z] for z in changed}


def _reconfigure(records: list[str]) -> None:
    texts = zones(_next_serial(int(time.time())))
    peer_root = container.root("peer")
    for name, text in texts.items():
        (peer_root / ZDIR.lstrip("/") / f"{_file(name)}.zone").write_text(text)
    (peer_root / "etc/bind/named.conf.local").write_text(_named_conf_local(texts))
    # zones added or dropped, then every zone's new text (the root's delegations and PTRs)
    container.exec_("peer", "rndc", "reconfig", timeout=30)
    container.exec_("peer", "rndc", "reload", timeout=30)
    container.exec_("peer", "rndc", "flush", timeout=30)
    publish(records, serial=int(time.time()) + 1)


def delegate(zone_names: list[str], records: list[str]) -> None:
    """Hand ``zone_names`` to mx1, as a registrar (and an address provider) would: the peer
    stops serving them and its parent zones publish ``records`` (NS, glue, DS)."""
    _delegated.update(z.rstrip(".").lower() for z in zone_names)
    _reconfigure(records)


def undelegate() -> None:
    """The mail domains are the peer's again (records then need publishing again)."""
    _delegated.clear()
    _reconfigure([])


def root_anchor(timeout: float = 60) -> str:
    """The signed lab root's key-signing key, DNSKEY data ("257 3 13 <base64>"): the trust
    anchor of every validating resolver in the lab."""
    deadline = time.monotonic() + timeout
    while True:
        out = container.sh("peer", "dig +short @127.0.0.1 . DNSKEY", check=False).stdout
        keys = [line for line in out.splitlines() if line.startswith("257 ")]
        if keys:
            return keys[0]
        if time.monotonic() > deadline:
            raise RuntimeError(f"the lab root was not signed within {timeout}s: {out!r}")
        time.sleep(1)


def lab_pillar(anchor: str) -> dict:
    """What mx1's resolver needs to know of the lab's private root."""
    peer = config.HOSTS["peer"]
    return {
        "mailserver": {
            "dns": {"resolver": {"root_hints": [peer.ip4, peer.ip6], "trust_anchors": [anchor]}}
        }
    }


def configure_peer(root: Path) -> None:
    """Write BIND's configuration into the peer's root before it boots."""
    global _last_serial
    _delegated.clear()
    _last_serial = SERIAL
    lab = f"{config.NET4}; {config.NET6}; localhost;"
    zdir = root / ZDIR.lstrip("/")
    (zdir / "keys").mkdir(parents=True, exist_ok=True)
    texts = zones()
    for name, text in texts.items():
        (zdir / f"{_file(name)}.zone").write_text(text)
    # BIND writes the signed root and its keys next to the zone files
    uid, gid = _ids(root, "bind")
    for path in [zdir, *zdir.rglob("*")]:
        os.chown(path, uid, gid)
    (root / "etc/bind/named.conf.local").write_text(_named_conf_local(texts))
    (root / "etc/bind/named.conf.options").write_text(
        "options {\n"
        '    directory "/var/cache/bind";\n'
        "    listen-on { any; };\n    listen-on-v6 { any; };\n"
        f"    allow-query {{ {lab} }};\n    allow-recursion {{ {lab} }};\n"
        "    allow-transfer { none; };\n"
        # the peer's resolver passes signatures on (delv checks them) without judging
        "    dnssec-validation no;\n"
        # the lab's ranges are documentation ranges, which BIND would answer for itself
        "    empty-zones-enable no;\n"
        "};\n"
    )
    # The root zone is ours: no root hints to try when the lab has no way out.
    conf = (root / "etc/bind/named.conf.default-zones").read_text()
    start = conf.find('zone "."')
    if start != -1:
        end = conf.find("};", start) + 2
        (root / "etc/bind/named.conf.default-zones").write_text(conf[:start] + conf[end:])


def _ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise RuntimeError(f"no user {user} in {root}")
