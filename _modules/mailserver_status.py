"""
A status check in the spirit of Mail-in-a-Box's: what DNS publishes against what the host
expects (A/AAAA, MX, forward-confirmed PTR for the EHLO name on IPv4 and IPv6, SPF, DMARC,
DKIM, MTA-STS with the policy served over HTTPS, TLS-RPT, DNSSEC: the host's resolver
validates, the parent's DS matches each zone the host signs), the certificate's names and
expiry, every public service answering on every address,
the mail store, and the mail queue. Structured results plus a short summary; the salt
command exits non-zero when something is wrong.
"""

import datetime
import ipaddress
import json
import socket
import ssl

__virtualname__ = "mailserver_status"

CERT_WARN_DAYS = 14
QUEUE_WARN = 50


def __virtual__():
    return __virtualname__


def _resolve(name, rtype):
    """Answers as text, [] for NXDOMAIN/no data, None when DNS does not answer."""
    import dns.exception  # pylint: disable=import-outside-toplevel
    import dns.resolver  # pylint: disable=import-outside-toplevel

    try:
        answer = dns.resolver.resolve(name, rtype, lifetime=10)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException:
        return None
    out = []
    for rdata in answer:
        if rtype == "TXT":
            out.append(b"".join(rdata.strings).decode("utf-8", "replace"))
        elif rtype == "MX":
            out.append(str(rdata.exchange).rstrip(".").lower())
        else:
            out.append(str(rdata).rstrip(".").lower())
    return out


def _item(name, ok, detail):
    return {"name": name, "ok": bool(ok), "detail": detail}


def _dns_checks(settings):
    host = settings["hostname"]
    addrs = __salt__["mailserver_dns.addresses"](settings)
    keys = __salt__["mailserver_dkim.public_keys"](
        settings["accounts"]["domains"], key_dir=settings["dkim"]["key_dir"]
    )
    out = []
    for family, rtype in (("ipv4", "A"), ("ipv6", "AAAA")):
        want = sorted(str(ipaddress.ip_address(a)) for a in addrs[family])
        have = _resolve(host, rtype)
        have = sorted(str(ipaddress.ip_address(a)) for a in have) if have else have
        out.append(_item(f"{rtype} {host}", have == want, f"published {have}, host has {want}"))
        for ip in want:
            ptr = _resolve(ipaddress.ip_address(ip).reverse_pointer, "PTR")
            ok = ptr == [host]
            out.append(_item(f"PTR {ip}", ok, f"{ptr} (the EHLO name is {host})"))
    want_tlsa = __salt__["mailserver_dns.tlsa"](settings["tls"]["cert_file"])
    if want_tlsa:
        name = f"_{settings['ports']['smtp']}._tcp.{host}"
        have = _resolve(name, "TLSA")
        out.append(
            _item(
                f"TLSA {name}",
                have is not None and want_tlsa in have,
                f"published {have}, the certificate's key gives {want_tlsa!r}",
            )
        )
    acme = settings["tls"]["acme"]
    if acme["enabled"] and acme["caa"]:
        want_caa = f'0 issue "{acme["caa"]}"'
        have = _resolve(host, "CAA")
        out.append(
            _item(
                f"CAA {host}", have and want_caa in have, f"published {have}, expected {want_caa}"
            )
        )
    dns_settings = settings["dns"]
    for domain in settings["accounts"]["domains"]:
        mx = _resolve(domain, "MX")
        out.append(_item(f"MX {domain}", mx and host in mx, f"published {mx}, expected {host}"))
        spf = [t for t in (_resolve(domain, "TXT") or []) if t.startswith("v=spf1")]
        out.append(
            _item(
                f"SPF {domain}",
                spf == [dns_settings["spf"]],
                f"published {spf}, expected {dns_settings['spf']!r}",
            )
        )
        dmarc = [t for t in (_resolve(f"_dmarc.{domain}", "TXT") or []) if t.startswith("v=DMARC1")]
        out.append(
            _item(
                f"DMARC {domain}",
                dmarc == [dns_settings["dmarc"]],
                f"published {dmarc}, expected {dns_settings['dmarc']!r}",
            )
        )
        for selector, key in sorted(keys.get(domain, {}).items()):
            txt = _resolve(f"{selector}._domainkey.{domain}", "TXT") or []
            ok = any(f"p={key['p']}" in t.replace(" ", "") for t in txt)
            role = "signing" if key["active"] else "not signing"
            out.append(
                _item(
                    f"DKIM {selector}._domainkey.{domain}",
                    ok,
                    f"{role}; " + ("published" if ok else "not published or different"),
                )
            )
    return out


def _validates(resolver="127.0.0.1"):
    """Whether the resolver proves the root's SOA with DNSSEC (sets AD)."""
    import dns.exception  # pylint: disable=import-outside-toplevel
    import dns.flags  # pylint: disable=import-outside-toplevel
    import dns.message  # pylint: disable=import-outside-toplevel
    import dns.query  # pylint: disable=import-outside-toplevel

    query = dns.message.make_query(".", "SOA", want_dnssec=True)
    try:
        answer, _ = dns.query.udp_with_fallback(query, resolver, timeout=5)
    except (dns.exception.DNSException, OSError) as exc:
        return False, f"no answer from {resolver}: {exc}"
    ok = bool(answer.flags & dns.flags.AD)
    return ok, "answers carry DNSSEC proof (AD)" if ok else "answers are not validated"


def _dnssec_checks(settings):
    """The host's resolver validates; each zone it serves is signed and its parent's DS
    matches the zone's key (the chain of trust holds)."""
    out = []
    if settings["dns"]["resolver"]["enabled"]:
        ok, detail = _validates()
        out.append(_item("DNSSEC validation by the host's resolver", ok, detail))
    for zone in __salt__["mailserver_bind.served"](settings):
        want = __salt__["mailserver_bind.ds_records"](zone)
        have = _resolve(zone, "DS")
        out.append(
            _item(
                f"DNSSEC {zone}",
                bool(want) and bool(set(want) & set(have or [])),
                f"the parent publishes DS {have}, the zone's key gives {want} "
                "(the registrar publishes what mailserver_bind.delegation prints)",
            )
        )
    return out


def _cert_check(settings):
    path = settings["tls"]["cert_file"]
    try:
        cert = __salt__["mailserver_dns.certificate"](path)
    except (OSError, ValueError) as exc:
        return [_item("certificate", False, f"{path}: {exc}")]
    if cert is None:
        return [_item("certificate", False, f"{path}: no such file")]
    not_after = datetime.datetime.fromisoformat(cert["not_after"])
    left = not_after - datetime.datetime.now(datetime.UTC)
    names = cert["names"]
    return [
        _item(
            "certificate expiry",
            left.days >= CERT_WARN_DAYS,
            f"{left.days} days left (until {not_after:%Y-%m-%d})",
        ),
        _item(
            "certificate names",
            all(n in names for n in settings["tls"]["names"]),
            f"covers {names}, needs {settings['tls']['names']}",
        ),
    ]


def _fetch_policy(settings, name, ip):
    """GET the MTA-STS policy from ``ip`` as a sender does for ``name`` (SNI, host name
    checked), trusting exactly the certificate deployed here: whether the chain reaches a
    CA senders trust is the CA's part, checked by the certificate items."""
    ctx = ssl.create_default_context(cafile=settings["tls"]["cert_file"])
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    request = f"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n"
    raw = socket.create_connection((ip, settings["ports"]["https"]), timeout=10)
    with ctx.wrap_socket(raw, server_hostname=name) as tls:
        tls.sendall(request.encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode("latin-1")
    return status, body.decode("utf-8", "replace")


def _mta_sts_checks(settings):
    policy = __salt__["mailserver_dns.mta_sts_policy"](settings)
    want_txt = f"v=STSv1; id={__salt__['mailserver_dns.mta_sts_id'](policy)}"
    out = []
    for domain in settings["accounts"]["domains"]:
        txt = [t for t in (_resolve(f"_mta-sts.{domain}", "TXT") or []) if t.startswith("v=STSv1")]
        name = f"mta-sts.{domain}"
        addrs = (_resolve(name, "A") or []) + (_resolve(name, "AAAA") or [])
        if not addrs:
            served = f"{name} does not resolve"
        else:
            try:
                status, body = _fetch_policy(settings, name, addrs[0])
                served = "served" if body == policy else f"{status}, not the policy: {body[:80]!r}"
            except (OSError, ssl.SSLError) as exc:
                served = f"not served over HTTPS from {addrs[0]}: {exc}"
        mode = settings["dns"]["mta_sts"]["mode"]
        out.append(
            _item(
                f"MTA-STS {domain}",
                txt == [want_txt] and served == "served",
                f"TXT published {txt}, expected {want_txt!r}; policy (mode {mode}) {served}",
            )
        )
        rua = settings["dns"]["tlsrpt_rua"] or f"mailto:postmaster@{domain}"
        want = f"v=TLSRPTv1; rua={rua}"
        have = [t for t in (_resolve(f"_smtp._tls.{domain}", "TXT") or []) if "TLSRPT" in t]
        detail = f"published {have}, expected {want!r}"
        out.append(_item(f"TLS-RPT {domain}", have == [want], detail))
    return out


def _service_checks(settings):
    addrs = __salt__["mailserver_dns.addresses"](settings)
    ports = {"ssh": settings["ssh"]["port"], **settings["ports"]}
    out = []
    for name, port in sorted(ports.items(), key=lambda kv: kv[1]):
        for ip in addrs["ipv4"] + addrs["ipv6"]:
            try:
                with socket.create_connection((ip, port), timeout=5):
                    ok, detail = True, "answers"
            except OSError as exc:
                ok, detail = False, f"no answer ({exc.strerror or exc})"
            out.append(_item(f"{name} {ip} port {port}", ok, detail))
    return out


def _store_check(settings):
    state = __salt__["mailserver_store.status"]().get("state")
    return [_item("mail store", state == "unlocked", state)]


def _queue_check():
    ret = __salt__["cmd.run_all"](["postqueue", "-j"], python_shell=False, ignore_retcode=True)
    if ret["retcode"] != 0:
        return [_item("mail queue", False, ret["stderr"] or "postqueue failed")]
    queues = {}
    for line in ret["stdout"].splitlines():
        if line.strip():
            name = json.loads(line)["queue_name"]
            queues[name] = queues.get(name, 0) + 1
    waiting = sum(n for q, n in queues.items() if q != "hold")
    detail = ", ".join(f"{n} {q}" for q, n in sorted(queues.items())) or "empty"
    return [_item("mail queue", waiting < QUEUE_WARN, detail)]


def check(settings=None):
    """
    Run every check; ``{"ok": bool, "checks": [{"name", "ok", "detail"}], "summary": text}``.
    The salt command exits non-zero when anything is wrong.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_status.check
        salt mx1 mailserver_status.check --out=json
    """
    settings = settings or __salt__["mailserver.current"]()
    checks = (
        _dns_checks(settings)
        + _mta_sts_checks(settings)
        + _dnssec_checks(settings)
        + _cert_check(settings)
        + _service_checks(settings)
        + _store_check(settings)
        + _queue_check()
    )
    bad = [c for c in checks if not c["ok"]]
    if bad:
        summary = f"{len(bad)} of {len(checks)} checks failed: " + "; ".join(
            f"{c['name']}: {c['detail']}" for c in bad
        )
        __context__["retcode"] = 1
    else:
        summary = f"all {len(checks)} checks passed"
    return {"ok": not bad, "checks": checks, "summary": summary}
