"""The lab's DNS, served by BIND 9 on the peer.

The peer is authoritative for a private root zone, so any name outside the lab gets a quick
NXDOMAIN instead of a time-out, for the lab's two domains and for the reverse zones of the
lab ranges (so that every address has a PTR), and recursive for lab hosts only.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from . import config, container

SERIAL = 1


def _soa(origin: str, serial: int = SERIAL) -> str:
    ns = config.HOSTS["peer"].fqdn
    return (
        f"$ORIGIN {origin}\n$TTL 300\n"
        f"@ IN SOA {ns}. hostmaster.{config.PEER_DOMAIN}. {serial} 3600 600 86400 300\n"
        f"@ IN NS {ns}.\n"
    )


def zones(serial: int = SERIAL) -> dict[str, str]:
    """Zone name -> zone file text, derived from config.HOSTS."""
    hosts = list(config.HOSTS.values())
    out = {".": _soa(".", serial)}
    mx1, peer = config.HOSTS["mx1"], config.HOSTS["peer"]
    for domain in sorted({*config.MAIL_DOMAINS, config.PEER_DOMAIN}):
        text = _soa(domain + ".", serial)
        for h in hosts:
            if h.fqdn.endswith("." + domain):
                label = h.fqdn[: -len(domain) - 1]
                text += f"{label} IN A {h.ip4}\n{label} IN AAAA {h.ip6}\n"
        mx = peer if domain == config.PEER_DOMAIN else mx1
        text += f"@ IN MX 10 {mx.fqdn}.\n"
        out[domain] = text
    rev4 = ".".join(reversed(str(config.NET4.network_address).split(".")[:3])) + ".in-addr.arpa"
    rev6 = (
        ".".join(reversed(config.NET6.network_address.exploded.replace(":", "")[:16])) + ".ip6.arpa"
    )
    out[rev4] = _soa(rev4 + ".", serial)
    out[rev6] = _soa(rev6 + ".", serial)
    for h in hosts:
        out[rev4] += f"{ipaddress.ip_address(h.ip4).reverse_pointer}. IN PTR {h.fqdn}.\n"
        out[rev6] += f"{ipaddress.ip_address(h.ip6).reverse_pointer}. IN PTR {h.fqdn}.\n"
    return out


def _file(name: str) -> str:
    return "root" if name == "." else name


def publish(records: list[str], serial: int) -> dict[str, int]:
    """Publish ``records`` (zone-file lines with absolute names, as an admin copies them
    from ``mailserver_dns.records``) in the peer's zones, as a provider's DNS would: each
    line goes to the zone it belongs to, the zones are rewritten with a new serial and
    reloaded. Returns how many records each zone got."""
    texts = zones(serial)
    count = dict.fromkeys(texts, 0)
    for line in records:
        owner = line.split()[0].rstrip(".").lower()
        zone = max(
            (z for z in texts if z == "." or owner == z or owner.endswith("." + z)),
            key=lambda z: 0 if z == "." else len(z),
        )
        texts[zone] += line + "\n"
        count[zone] += 1
    zdir = container.root("peer") / "var/lib/bind/lab"
    changed = sorted(z for z, n in count.items() if n)
    for name in changed:
        (zdir / f"{_file(name)}.zone").write_text(texts[name])
        zfile = f"/var/lib/bind/lab/{_file(name)}.zone"
        container.exec_("peer", "named-checkzone", name, zfile, timeout=30)
        container.exec_("peer", "rndc", "reload", name, timeout=30)
    return {z: count[z] for z in changed}


def configure_peer(root: Path) -> None:
    """Write BIND's configuration into the peer's root before it boots."""
    lab = f"{config.NET4}; {config.NET6}; localhost;"
    zdir = root / "var/lib/bind/lab"
    zdir.mkdir(parents=True, exist_ok=True)
    local = ""
    for name, text in zones().items():
        fname = _file(name)
        (zdir / f"{fname}.zone").write_text(text)
        local += f'zone "{name}" {{ type primary; file "/var/lib/bind/lab/{fname}.zone"; }};\n'
    (root / "etc/bind/named.conf.local").write_text(local)
    (root / "etc/bind/named.conf.options").write_text(
        "options {\n"
        '    directory "/var/cache/bind";\n'
        "    listen-on { any; };\n    listen-on-v6 { any; };\n"
        f"    allow-query {{ {lab} }};\n    allow-recursion {{ {lab} }};\n"
        "    allow-transfer { none; };\n"
        "    dnssec-validation no;\n"
        "};\n"
    )
    # The root zone is ours: no root hints to try when the lab has no way out.
    conf = (root / "etc/bind/named.conf.default-zones").read_text()
    start = conf.find('zone "."')
    if start != -1:
        end = conf.find("};", start) + 2
        (root / "etc/bind/named.conf.default-zones").write_text(conf[:start] + conf[end:])
