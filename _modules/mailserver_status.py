"""
A status check in the spirit of Mail-in-a-Box's: what DNS publishes against every record the
host needs published (``mailserver_dns.record_set``: A/AAAA, forward-confirmed PTR for the
EHLO name, MX, SPF, DMARC, DKIM, MTA-STS with the policy served over HTTPS, TLS-RPT, TLSA,
CAA), DNSSEC (the host's resolver validates, the parent's DS matches each zone the host
signs), the certificate's names and expiry, every public service of the model answering on
every address, the mail store, and the mail queue. Structured results plus a short summary;
the salt command exits non-zero when something is wrong.
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
    if rtype == "TXT":
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
    return [r.to_text() for r in answer]


def _item(name, ok, detail):
    return {"name": name, "ok": bool(ok), "detail": detail}


def _norm(rtype, value):
    """A record's value as published and as wanted, made comparable."""
    if rtype in ("A", "AAAA"):
        return str(ipaddress.ip_address(value))
    if rtype == "TXT":
        return value
    if rtype == "MX":  # the exchange; the preference is the admin's to choose
        return value.split()[-1].rstrip(".").lower()
    if rtype == "TXT-DKIM":
        return "".join(value.split())
    return " ".join(value.lower().rstrip(".").split())


def _judge(records, published):
    """Whether what DNS publishes satisfies the wanted ``records`` (one check item)."""
    first = records[0]
    rtype = first["type"]
    if first["item"].startswith("DKIM"):
        rtype = "TXT-DKIM"
    want = sorted(_norm(rtype, r["value"]) for r in records)
    if published is None:
        return False, want, None
    have = [p for p in published if p.startswith(first["select"])]
    have = sorted(_norm(rtype, p) for p in have)
    if first["match"] == "contains":
        return set(want) <= set(have), want, have
    return have == want, want, have


def _record_checks(records):
    """One item per check of the record set: each compares what DNS publishes with what the
    host wants published (the same data the zones and the printed records are made from)."""
    items = {}
    for record in records:
        items.setdefault(record["item"], []).append(record)
    out = []
    for name, group in items.items():
        published = _resolve(group[0]["name"], group[0]["type"])
        ok, want, have = _judge(group, published)
        detail = f"published {have}, expected {want}"
        if name.startswith("PTR"):
            detail += " (the EHLO name)"
        out.append(_item(name, ok, detail))
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
    for zone in settings["dns"]["zones"]:
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
    checked), trusting exactly the certificate deployed here (on another host of a cluster:
    the one the primary, which serves the policy, published): whether the chain reaches a
    CA senders trust is the CA's part, checked by the certificate items."""
    relayed = settings["cluster"]["relay_to"]
    cafile = settings["postfix"]["anchor_file"] if relayed else settings["tls"]["cert_file"]
    ctx = ssl.create_default_context(cafile=cafile)
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


def _policy_checks(settings):
    """The MTA-STS policy each domain's ``mta-sts`` name serves over HTTPS."""
    sts = settings["dns"]["mta_sts"]
    out = []
    for name in sts["names"]:
        addrs = (_resolve(name, "A") or []) + (_resolve(name, "AAAA") or [])
        if not addrs:
            ok, detail = False, f"{name} does not resolve"
        else:
            try:
                status, body = _fetch_policy(settings, name, addrs[0])
                ok = body == sts["policy"]
                detail = "served" if ok else f"{status}, not the policy: {body[:80]!r}"
            except (OSError, ssl.SSLError) as exc:
                ok, detail = False, f"not served over HTTPS from {addrs[0]}: {exc}"
        out.append(_item(f"MTA-STS policy {name}", ok, f"mode {sts['mode']}: {detail}"))
    return out


def _dns_query(ip, port, zone):
    """Whether ``ip`` answers a query for ``zone``'s SOA over UDP on ``port``."""
    import dns.exception  # pylint: disable=import-outside-toplevel
    import dns.message  # pylint: disable=import-outside-toplevel
    import dns.query  # pylint: disable=import-outside-toplevel

    try:
        dns.query.udp(dns.message.make_query(zone, "SOA"), ip, port=port, timeout=5)
        return True, "answers"
    except (dns.exception.DNSException, OSError) as exc:
        return False, f"no answer ({exc})"


def _service_checks(settings):
    addrs = settings["dns"]["addresses"]
    zone = (settings["dns"]["zones"] or ["."])[0]
    out = []
    for svc in settings["services"]:
        if not svc["probe"]:
            continue
        for ip in addrs["ipv4"] + addrs["ipv6"]:
            if svc["proto"] == "udp":
                ok, detail = _dns_query(ip, svc["port"], zone)
            else:
                try:
                    with socket.create_connection((ip, svc["port"]), timeout=5):
                        ok, detail = True, "answers"
                except OSError as exc:
                    ok, detail = False, f"no answer ({exc.strerror or exc})"
            port = f"{svc['port']}/udp" if svc["proto"] == "udp" else svc["port"]
            out.append(_item(f"{svc['name']} {ip} port {port}", ok, detail))
    return out


def _store_check():
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


def check():
    """
    Run every check; ``{"ok": bool, "checks": [{"name", "ok", "detail"}], "summary": text}``.
    The salt command exits non-zero when anything is wrong.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_status.check
        salt mx1 mailserver_status.check --out=json
    """
    settings = __salt__["mailserver.current"]()
    checks = (
        _record_checks(__salt__["mailserver_dns.record_set"](settings))
        + _policy_checks(settings)
        + _dnssec_checks(settings)
        + _cert_check(settings)
        + _service_checks(settings)
        + _store_check()
        + _queue_check()
        + __salt__["mailserver_backup.check_items"](settings)
        + __salt__["mailserver_cluster.check_items"](settings)
    )
    return judge(checks)


def judge(checks):
    """
    The verdict on ``checks`` (``[{"name", "ok", "detail"}]``): ``{"ok", "checks",
    "summary"}``, and a non-zero exit of the salt command when one failed. Called in-process
    by the checks of this module and the upgrade guard's self test.
    """
    bad = [c for c in checks if not c["ok"]]
    if bad:
        summary = f"{len(bad)} of {len(checks)} checks failed: " + "; ".join(
            f"{c['name']}: {c['detail']}" for c in bad
        )
        __context__["retcode"] = 1
    else:
        summary = f"all {len(checks)} checks passed"
    return {"ok": not bad, "checks": checks, "summary": summary}
