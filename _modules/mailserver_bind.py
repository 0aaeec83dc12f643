"""
BIND 9 as the authoritative server of the mail domains: which zones the host serves, their
text (every record ``mailserver_dns.records`` prints, plus SOA and NS), and what the parent
zones need to delegate them (NS, glue and the DS of each zone's signing key).
"""

import datetime
import ipaddress
import re

__virtualname__ = "mailserver_bind"

# BIND's built-in empty zones for private and documentation ranges (ARM, "Built-in Empty
# Zones"): it answers them itself, NXDOMAIN, which must not happen to the host's own names
_EMPTY_ZONES = (
    "10.in-addr.arpa",
    *(f"{n}.172.in-addr.arpa" for n in range(16, 32)),
    "168.192.in-addr.arpa",
    *(f"{n}.100.in-addr.arpa" for n in range(64, 128)),
    "254.169.in-addr.arpa",
    "2.0.192.in-addr.arpa",
    "100.51.198.in-addr.arpa",
    "113.0.203.in-addr.arpa",
    "8.b.d.0.1.0.0.2.ip6.arpa",
    "d.f.ip6.arpa",
    "8.e.f.ip6.arpa",
    "9.e.f.ip6.arpa",
    "a.e.f.ip6.arpa",
    "b.e.f.ip6.arpa",
)
_SOA_SERIAL = re.compile(r"^\S+ \d+ IN SOA \S+ \S+ (\d+) ", re.M)


def __virtual__():
    return __virtualname__


def served(settings):
    """
    The zones this host serves: each mail domain, and the reverse name of each of its
    addresses (a zone with the PTR at its apex) unless ``dns:authoritative:reverse`` is off.
    Empty when the host is not authoritative.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_bind.served "$(salt mx1 --out=json mailserver.current)"
    """
    auth = settings["dns"]["authoritative"]
    if not auth["enabled"]:
        return []
    zones = [d.lower() for d in settings["accounts"]["domains"]]
    if auth["reverse"]:
        addrs = __salt__["mailserver_dns.addresses"](settings)
        zones += [ipaddress.ip_address(a).reverse_pointer for a in addrs["ipv4"] + addrs["ipv6"]]
    return zones


def root_hints(settings):
    """
    BIND's hint zone for ``dns:resolver:root_hints``: the addresses recursion starts from
    (the names are placeholders; BIND asks these servers for the root's own NS set).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_bind.root_hints "$(salt mx1 --out=json mailserver.current)"
    """
    lines = ["; Managed by Salt (mailserver formula): the root servers to start from"]
    for i, addr in enumerate(settings["dns"]["resolver"]["root_hints"], 1):
        lines.append(f". 3600000 NS root{i}.hints.invalid.")
        lines.append(_address_record(f"root{i}.hints.invalid", 3600000, addr))
    return "\n".join(lines) + "\n"


def own_empty_zones(settings):
    """
    The built-in empty zones of BIND that hold one of the host's addresses or of the root
    hints (a host on private or documentation addresses): the resolver must look them up
    instead of answering NXDOMAIN itself.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_bind.own_empty_zones "$(salt mx1 --out=json mailserver.current)"
    """
    addrs = __salt__["mailserver_dns.addresses"](settings)
    names = [
        ipaddress.ip_address(a).reverse_pointer
        for a in addrs["ipv4"] + addrs["ipv6"] + settings["dns"]["resolver"]["root_hints"]
    ]
    return sorted({z for z in _EMPTY_ZONES for n in names if n.endswith("." + z)})


def _address_record(name, ttl, ip):
    rtype = "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"
    return f"{name}. {ttl} IN {rtype} {ip}"


def _zone_of(owner, zones):
    """The most specific of ``zones`` that ``owner`` belongs to, or None."""
    inside = [z for z in zones if owner == z or owner.endswith("." + z)]
    return max(inside, key=len) if inside else None


def nameservers(settings):
    """The zones' NS names: this host first, then the secondaries."""
    secondaries = settings["dns"]["authoritative"]["secondaries"]
    return [settings["hostname"], *(s["name"].lower().rstrip(".") for s in secondaries)]


def zones(settings=None, records=None):
    """
    ``{zone: [record lines]}``: every record this host should publish, each in the served
    zone it belongs to (records outside them are for others to publish).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_bind.zones
    """
    settings = settings or __salt__["mailserver.current"]()
    names = served(settings)
    if records is None:
        records = __salt__["mailserver_dns.records"](settings)
    out = {z: [] for z in names}
    for line in records:
        zone = _zone_of(line.split(None, 1)[0].rstrip(".").lower(), names)
        if zone:
            out[zone].append(line)
    return out


def zone_text(zone, lines, settings, serial):
    """The zone file: SOA and NS, then ``lines``."""
    auth = settings["dns"]["authoritative"]
    ttl = settings["dns"]["ttl"]
    refresh, retry, expire, negative = auth["soa_timers"]
    ns = nameservers(settings)
    text = [
        "; Managed by Salt (mailserver formula): edit pillar, not this file.",
        f"$TTL {ttl}",
        f"{zone}. {ttl} IN SOA {ns[0]}. hostmaster.{settings['mailname']}. {serial} "
        f"{refresh} {retry} {expire} {negative}",
    ]
    text += [f"{zone}. {ttl} IN NS {name}." for name in ns]
    # a secondary named inside the zone needs its address there (the host's is a record)
    for sec in auth["secondaries"]:
        name = sec["name"].lower().rstrip(".")
        if _zone_of(name, [zone]):
            text.append(_address_record(name, ttl, sec["address"]))
    return "\n".join(text + list(lines)) + "\n"


def file_serial(text):
    """The SOA serial of a zone file this module wrote, or 0."""
    match = _SOA_SERIAL.search(text or "")
    return int(match.group(1)) if match else 0


def next_serial(old, today=None):
    """YYYYMMDDnn of today, or one more than ``old`` when that is higher."""
    today = today or datetime.datetime.now(datetime.UTC).date()
    return max(int(today.strftime("%Y%m%d")) * 100, old + 1)


def ds_records(zone, server="127.0.0.1"):
    """
    DS data (SHA-256) of the zone's key-signing keys, from the DNSKEY set ``server`` serves:
    what the parent publishes to chain trust to the zone. Empty until BIND signed the zone.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_bind.ds_records example.com
    """
    import dns.dnssec  # pylint: disable=import-outside-toplevel
    import dns.exception  # pylint: disable=import-outside-toplevel
    import dns.message  # pylint: disable=import-outside-toplevel
    import dns.query  # pylint: disable=import-outside-toplevel
    import dns.rdatatype  # pylint: disable=import-outside-toplevel

    query = dns.message.make_query(zone, "DNSKEY", want_dnssec=True)
    try:
        answer, _ = dns.query.udp_with_fallback(query, server, timeout=5)
    except (dns.exception.DNSException, OSError):
        return []
    out = []
    for rrset in answer.answer:
        if rrset.rdtype != dns.rdatatype.DNSKEY:
            continue
        for key in rrset:
            if key.flags & 0x0001:  # SEP: a key-signing (or combined) key
                out.append(dns.dnssec.make_ds(zone + ".", key, "SHA256").to_text())
    return sorted(out)


def delegation(settings=None):
    """
    What the parent zones (the registrar, the address provider) must publish for each zone
    this host serves: NS, glue for name servers inside the zone, and DS.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_bind.delegation --out=newline_values_only
    """
    settings = settings or __salt__["mailserver.current"]()
    ttl = settings["dns"]["ttl"]
    addrs = __salt__["mailserver_dns.addresses"](settings)
    glue = {settings["hostname"]: addrs["ipv4"] + addrs["ipv6"]}
    for sec in settings["dns"]["authoritative"]["secondaries"]:
        glue.setdefault(sec["name"].lower().rstrip("."), []).append(sec["address"])
    out = []
    for zone in served(settings):
        for name in nameservers(settings):
            out.append(f"{zone}. {ttl} IN NS {name}.")
            if _zone_of(name, [zone]):
                out += [_address_record(name, ttl, ip) for ip in glue.get(name, [])]
        out += [f"{zone}. {ttl} IN DS {ds}" for ds in ds_records(zone)]
    return out
