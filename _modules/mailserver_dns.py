"""
The DNS records a mail host needs, built from the model (``mailserver.current``) and the host
itself (its DKIM public keys, its certificate's key), as structured data: each record has an
owner ``name``, a ``ttl``, a ``type`` and a ``value``, and says how the status check judges
what DNS publishes for it (``item``: the name of the check; ``select``: the TXT records it
is one of; ``match``: ``set``, ``exact`` or ``contains``).

The zone files BIND serves, the lines :py:func:`records` prints for admins who keep DNS
elsewhere and every DNS item of the status check are made from :py:func:`record_set`, so
what is checked can never differ from what is published.
"""

import hashlib
import ipaddress

__virtualname__ = "mailserver_dns"


def __virtual__():
    return __virtualname__


def _txt(text):
    """A TXT value as quoted strings of at most 255 characters each (RFC 7208 3.3)."""
    chunks = [text[i : i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def certificate(cert_file=None):
    """
    What the (first) certificate in ``cert_file`` (default: the host's) says: its DNS names,
    expiry, serial, issuer and TLSA data, or None when there is no such file.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dns.certificate
    """
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

    cert_file = cert_file or __salt__["mailserver.current"]()["tls"]["cert_file"]
    try:
        with open(cert_file, "rb") as fh:
            cert = x509.load_pem_x509_certificate(fh.read())
    except FileNotFoundError:
        return None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = sorted(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = []
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "names": names,
        "not_after": cert.not_valid_after_utc.isoformat(),
        "serial": format(cert.serial_number, "x"),
        "issuer": cert.issuer.rfc4514_string(),
        # DANE-EE, the public key, SHA-256: right across renewals that keep the key
        "tlsa": "3 1 1 " + hashlib.sha256(spki).hexdigest(),
    }


def _record(name, rtype, value, ttl, item=None, select="", match="set"):
    return {
        "name": name,
        "ttl": ttl,
        "type": rtype,
        "value": value,
        "item": item or f"{rtype} {name}",
        "select": select,
        "match": match,
    }


def _address_records(name, addresses, ttl):
    out = [_record(name, "A", ip, ttl) for ip in addresses["ipv4"]]
    return out + [_record(name, "AAAA", ip, ttl) for ip in addresses["ipv6"]]


# RFC 6186 and RFC 8314's SRV services, and which of the host's ports each one is
CLIENT_SERVICES = (("submissions", "submissions"), ("submission", "submission"), ("imaps", "imaps"))


def _client_records(domain, settings, primary, ttl):
    """What mail clients look up to set themselves up: the autoconfig and autodiscover
    hosts, and the SRV records of submission and IMAP (all on the primary)."""
    host = primary["name"]
    out = []
    for prefix in ("autoconfig", "autodiscover"):
        out += _address_records(f"{prefix}.{domain}", primary, ttl)
    for service, port in CLIENT_SERVICES:
        value = f"0 1 {settings['ports'][port]} {host}."
        out.append(_record(f"_{service}._tcp.{domain}", "SRV", value, ttl, match="exact"))
    return out


def record_set(settings=None, dkim=None):
    """
    Every record this mail host needs published, as structured data (see the module's
    description): the host's A/AAAA, TLSA for port 25, CAA naming the ACME CA (when
    certificates come from one), and for each mail domain MX, SPF, DMARC, every DKIM
    selector (an old selector stays until its key is retired), MTA-STS (the ``_mta-sts``
    TXT and the ``mta-sts`` host), TLS-RPT, and what mail clients look up (the
    ``autoconfig`` and ``autodiscover`` hosts, SRV records of submission and IMAP); the
    webmail's name when it is not the host's; PTR records last, for the provider of the
    addresses to set.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dns.record_set --out=json
    """
    settings = settings or __salt__["mailserver.current"]()
    domains = settings["accounts"]["domains"]
    if dkim is None:
        dkim = __salt__["mailserver_dkim.public_keys"](domains, key_dir=settings["dkim"]["key_dir"])
    dns, host = settings["dns"], settings["hostname"]
    hosts = settings["cluster"]["hosts"]
    # what clients use (the webmail, MTA-STS, autoconfiguration) is on the primary
    primary = next(h for h in hosts if h["name"] == settings["cluster"]["primary"])
    ttl = dns["ttl"]
    out = []
    for each in hosts:
        out += _address_records(each["name"], each, ttl)
    web = settings["webmail"]
    if web["enabled"] and web["name"] != host:
        out += _address_records(web["name"], primary, ttl)
    # DANE for mail coming in on port 25 (meaningful once the zone is DNSSEC-signed)
    cert = certificate(settings["tls"]["cert_file"])
    if cert:
        name = f"_{settings['ports']['smtp']}._tcp.{host}"
        out.append(_record(name, "TLSA", cert["tlsa"], ttl, match="contains"))
    acme = settings["tls"]["acme"]
    if acme["enabled"] and acme["caa"]:
        for name in settings["tls"]["names"]:
            out.append(_record(name, "CAA", f'0 issue "{acme["caa"]}"', ttl, match="contains"))
    sts = f"v=STSv1; id={dns['mta_sts']['id']}"
    for domain in domains:
        for each in settings["cluster"]["mx"]:
            mx = f"{each['preference']} {each['name']}."
            out.append(_record(domain, "MX", mx, ttl, match="contains"))
        out.append(_record(domain, "TXT", dns["spf"], ttl, f"SPF {domain}", "v=spf1", "exact"))
        out.append(
            _record(
                f"_dmarc.{domain}", "TXT", dns["dmarc"], ttl, f"DMARC {domain}", "v=DMARC1", "exact"
            )
        )
        for selector, key in sorted(dkim.get(domain, {}).items()):
            name = f"{selector}._domainkey.{domain}"
            out.append(_record(name, "TXT", key["record"], ttl, f"DKIM {name}", "v=DKIM1", "exact"))
        out.append(
            _record(f"_mta-sts.{domain}", "TXT", sts, ttl, f"MTA-STS {domain}", "v=STSv1", "exact")
        )
        out += _address_records(f"mta-sts.{domain}", primary, ttl)
        if settings["autoconfig"]["enabled"]:
            out += _client_records(domain, settings, primary, ttl)
        rua = dns["tlsrpt_rua"] or f"mailto:postmaster@{domain}"
        out.append(
            _record(
                f"_smtp._tls.{domain}",
                "TXT",
                f"v=TLSRPTv1; rua={rua}",
                ttl,
                f"TLS-RPT {domain}",
                "v=TLSRPTv1",
                "exact",
            )
        )
    for each in hosts:
        for ip in each["ipv4"] + each["ipv6"]:
            name = ipaddress.ip_address(ip).reverse_pointer
            out.append(_record(name, "PTR", f"{each['name']}.", ttl, f"PTR {ip}", match="exact"))
    return out


def _line(record):
    """One record in zone-file syntax, with an absolute owner name."""
    value = _txt(record["value"]) if record["type"] == "TXT" else record["value"]
    return f"{record['name']}. {record['ttl']} IN {record['type']} {value}"


def records(settings=None, dkim=None):
    """
    Every record to publish for this mail host (:py:func:`record_set`), one zone-file line
    each with absolute names: what to copy into a DNS kept elsewhere.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dns.records --out=newline_values_only
    """
    return [_line(r) for r in record_set(settings, dkim)]
