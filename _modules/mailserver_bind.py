"""
BIND 9 as the authoritative server of the mail domains: the text of each zone the host
serves (the model's ``dns:zones``: SOA, NS and every record of ``mailserver_dns.records``
that belongs to it), and what the parent zones need to delegate them (NS, glue and the DS
of each zone's signing key).
"""

import datetime
import difflib
import ipaddress
import os
import re

__virtualname__ = "mailserver_bind"

_SOA_SERIAL = re.compile(r"^\S+ \d+ IN SOA \S+ \S+ (\d+) ", re.M)


def __virtual__():
    return __virtualname__


def _address_record(name, ttl, ip):
    rtype = "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"
    return f"{name}. {ttl} IN {rtype} {ip}"


def _zone_of(owner, zones):
    """The most specific of ``zones`` that ``owner`` belongs to, or None."""
    inside = [z for z in zones if owner == z or owner.endswith("." + z)]
    return max(inside, key=len) if inside else None


def zones(settings=None, records=None):
    """
    ``{zone: [record lines]}``: every record this host should publish, each in the served
    zone it belongs to (records outside them are for others to publish). Empty when the
    host is not authoritative.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_bind.zones
    """
    settings = settings or __salt__["mailserver.current"]()
    names = settings["dns"]["zones"]
    if not names:
        return {}
    if records is None:
        records = __salt__["mailserver_dns.records"](settings)
    out = {z: [] for z in names}
    for line in records:
        zone = _zone_of(line.split(None, 1)[0].rstrip(".").lower(), names)
        if zone:
            out[zone].append(line)
    return out


def _zone_text(zone, lines, settings, serial):
    """The zone file: SOA and NS, then ``lines``."""
    dns = settings["dns"]
    auth, ttl = dns["authoritative"], dns["ttl"]
    refresh, retry, expire, negative = auth["soa_timers"]
    ns = dns["nameservers_of_zones"]
    text = [
        "; Managed by Salt (mailserver formula): edit pillar, not this file.",
        f"$TTL {ttl}",
        f"{zone}. {ttl} IN SOA {ns[0]}. hostmaster.{settings['mailname']}. {serial} "
        f"{refresh} {retry} {expire} {negative}",
    ]
    text += [f"{zone}. {ttl} IN NS {name}." for name in ns]
    # a secondary named inside the zone needs its address there (the host's is a record)
    for sec in auth["secondaries"]:
        if _zone_of(sec["name"], [zone]):
            text.append(_address_record(sec["name"], ttl, sec["address"]))
    return "\n".join(text + list(lines)) + "\n"


def _file_serial(text):
    """The SOA serial of a zone file this module wrote, or 0."""
    match = _SOA_SERIAL.search(text or "")
    return int(match.group(1)) if match else 0


def _next_serial(old, today=None):
    """YYYYMMDDnn of today, or one more than ``old`` when that is higher."""
    today = today or datetime.datetime.now(datetime.UTC).date()
    return max(int(today.strftime("%Y%m%d")) * 100, old + 1)


def _changed_records(old, new):
    return [
        line
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---") and " IN SOA " not in line
    ]


def zone_plan(zone_dir=None, settings=None):
    """
    The zone files that differ from what this host should serve: ``{zone: {"path", "text",
    "serial": {"old", "new"}, "records": [changed lines]}}``, the serial raised only where a
    record changed. Empty when every zone file is up to date (what the highstate writes).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_bind.zone_plan
    """
    settings = settings or __salt__["mailserver.current"]()
    zone_dir = zone_dir or settings["dns"]["bind"]["zone_dir"]
    out = {}
    for zone, lines in zones(settings).items():
        path = os.path.join(zone_dir, f"{zone}.zone")
        try:
            with open(path, encoding="utf-8") as fh:
                old = fh.read()
        except FileNotFoundError:
            old = ""
        old_serial = _file_serial(old)
        if old and old == _zone_text(zone, lines, settings, old_serial):
            continue
        serial = _next_serial(old_serial)
        text = _zone_text(zone, lines, settings, serial)
        out[zone] = {
            "path": path,
            "text": text,
            "serial": {"old": old_serial, "new": serial},
            "records": _changed_records(old, text),
        }
    return out


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
    dns = settings["dns"]
    ttl, addrs = dns["ttl"], dns["addresses"]
    glue = {settings["hostname"]: addrs["ipv4"] + addrs["ipv6"]}
    for sec in dns["authoritative"]["secondaries"]:
        glue.setdefault(sec["name"], []).append(sec["address"])
    out = []
    for zone in dns["zones"]:
        for name in dns["nameservers_of_zones"]:
            out.append(f"{zone}. {ttl} IN NS {name}.")
            if _zone_of(name, [zone]):
                out += [_address_record(name, ttl, ip) for ip in glue.get(name, [])]
        out += [f"{zone}. {ttl} IN DS {ds}" for ds in ds_records(zone)]
    return out
