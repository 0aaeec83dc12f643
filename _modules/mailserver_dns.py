"""
The DNS records a mail host needs, built from the formula's settings and the host itself
(its addresses, its DKIM public keys): for admins who keep DNS elsewhere, exactly the
records to publish, in zone-file syntax.
"""

import hashlib
import ipaddress

__virtualname__ = "mailserver_dns"


def __virtual__():
    return __virtualname__


def addresses(settings):
    """
    The host's public addresses: ``{"ipv4": [...], "ipv6": [...]}``, from pillar
    (``dns:addresses``) or else every address that is not loopback, link-local, multicast
    or unspecified.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dns.addresses "$(salt mx1 --out=json mailserver.current)"
    """
    out = {}
    for family in ("ipv4", "ipv6"):
        given = settings["dns"]["addresses"][family]
        if given:
            out[family] = list(given)
            continue
        found = []
        for text in __grains__.get(family, []):
            ip = ipaddress.ip_address(text)
            if not (ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified):
                found.append(str(ip))
        out[family] = sorted(found)
    return out


def _txt(text):
    """A TXT value as quoted strings of at most 255 characters each (RFC 7208 3.3)."""
    chunks = [text[i : i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def certificate(cert_file):
    """
    What the (first) certificate in ``cert_file`` says: its DNS names, expiry, serial,
    issuer and TLSA data, or None when there is no such file.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dns.certificate /etc/mailserver/tls/fullchain.pem
    """
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

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


def tlsa(cert_file):
    """
    The TLSA data for a certificate: ``3 1 1`` (DANE-EE, the public key, SHA-256), which
    stays right across renewals that keep the key.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dns.tlsa /etc/mailserver/tls/fullchain.pem
    """
    cert = certificate(cert_file)
    return cert["tlsa"] if cert else None


def mta_sts_policy(settings):
    """
    The MTA-STS policy (RFC 8461) of every mail domain (they share the one MX host), as
    served at ``https://mta-sts.<domain>/.well-known/mta-sts.txt``: lines naming the mode,
    the MX host and how long senders keep it (LF-separated, which RFC 8461's grammar allows
    beside CRLF, and which is what Salt writes).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dns.mta_sts_policy "$(salt mx1 --out=json mailserver.current)"
    """
    sts = settings["dns"]["mta_sts"]
    lines = ["version: STSv1", f"mode: {sts['mode']}", f"mx: {settings['hostname']}"]
    lines.append(f"max_age: {sts['max_age']}")
    return "\n".join(lines) + "\n"


def mta_sts_id(policy):
    """The policy's id for the ``_mta-sts`` TXT record: changes whenever the policy does, so
    senders fetch it again."""
    return hashlib.sha256(policy.encode()).hexdigest()[:20]


def records(settings=None, dkim=None):
    """
    Every record to publish for this mail host, one zone-file line each with absolute names:
    the host's A/AAAA, TLSA for port 25, CAA naming the ACME CA (when certificates come
    from one), and for each mail domain MX, SPF, DMARC, every DKIM selector (an old
    selector stays until its key is retired), MTA-STS (the ``_mta-sts`` TXT and the
    ``mta-sts`` host) and TLS-RPT; PTR records last, for the provider of
    the addresses to set.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dns.records --out=newline_values_only
    """
    settings = settings or __salt__["mailserver.current"]()
    domains = settings["accounts"]["domains"]
    if dkim is None:
        dkim = __salt__["mailserver_dkim.public_keys"](domains, key_dir=settings["dkim"]["key_dir"])
    dns, host = settings["dns"], settings["hostname"]
    ttl = dns["ttl"]
    addrs = addresses(settings)
    out = [f"{host}. {ttl} IN A {ip}" for ip in addrs["ipv4"]]
    out += [f"{host}. {ttl} IN AAAA {ip}" for ip in addrs["ipv6"]]
    # DANE for mail coming in on port 25 (meaningful once the zone is DNSSEC-signed)
    tlsa_data = tlsa(settings["tls"]["cert_file"])
    if tlsa_data:
        out.append(f"_{settings['ports']['smtp']}._tcp.{host}. {ttl} IN TLSA {tlsa_data}")
    acme = settings["tls"]["acme"]
    if acme["enabled"] and acme["caa"]:
        for name in settings["tls"]["names"]:
            out.append(f'{name}. {ttl} IN CAA 0 issue "{acme["caa"]}"')
    sts = f"v=STSv1; id={mta_sts_id(mta_sts_policy(settings))}"
    for domain in domains:
        out.append(f"{domain}. {ttl} IN MX 10 {host}.")
        out.append(f"{domain}. {ttl} IN TXT {_txt(dns['spf'])}")
        out.append(f"_dmarc.{domain}. {ttl} IN TXT {_txt(dns['dmarc'])}")
        for selector, key in sorted(dkim.get(domain, {}).items()):
            out.append(f"{selector}._domainkey.{domain}. {ttl} IN TXT {_txt(key['record'])}")
        out.append(f"_mta-sts.{domain}. {ttl} IN TXT {_txt(sts)}")
        out += [f"mta-sts.{domain}. {ttl} IN A {ip}" for ip in addrs["ipv4"]]
        out += [f"mta-sts.{domain}. {ttl} IN AAAA {ip}" for ip in addrs["ipv6"]]
        rua = dns["tlsrpt_rua"] or f"mailto:postmaster@{domain}"
        out.append(f"_smtp._tls.{domain}. {ttl} IN TXT {_txt('v=TLSRPTv1; rua=' + rua)}")
    for ip in addrs["ipv4"] + addrs["ipv6"]:
        out.append(f"{ipaddress.ip_address(ip).reverse_pointer}. {ttl} IN PTR {host}.")
    return out
