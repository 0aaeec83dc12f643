"""TLS as the scanners see it: testssl.sh (Debian's) from the peer against every TLS port of
mx1, over IPv4 and IPv6. No HIGH or CRITICAL finding but those a self-signed certificate
causes, and the missing server cipher order that Mozilla's intermediate profile asks for
when every offered suite is strong. The scans run in parallel, once for the module."""

from __future__ import annotations

import json

import pytest

from lab import config
from tests.system.mailclients import FAMILIES, PORTS

MX1 = config.HOSTS["mx1"]
# port -> testssl's STARTTLS protocol (None: TLS from the first byte; "shim": ManageSieve,
# which testssl 3.0 does not speak, through lab/probes/starttls_shim.py on the peer)
TARGETS = {
    PORTS["smtp"]: "smtp",
    PORTS["submission"]: "smtp",
    PORTS["submissions"]: None,
    PORTS["imap"]: "imap",
    PORTS["imaps"]: None,
    PORTS["managesieve"]: "shim",
    PORTS["https"]: None,
}
SHIM_PORTS = {"ipv4": 14190, "ipv6": 14196}
# findings that are not the server's to fix, each with the reason
ACCEPTED = {
    "cert_chain_of_trust": "the lab's certificate is self-signed (or from the lab's own CA)",
    "cipher_order": "no server cipher order: Mozilla's intermediate profile, all suites strong",
    "cert_revocation": "no CRL or OCSP URI: the certificate is self-signed",
}
OUT = "/tmp/testssl"


def _cmd(port: int, family: str) -> str:
    addr, target, proto = FAMILIES[family], f"{MX1.fqdn}:{port}", TARGETS[port]
    if proto == "shim":  # the shim did STARTTLS on mx1's port: plain TLS from here
        addr, target, proto = "127.0.0.1", f"{MX1.fqdn}:{SHIM_PORTS[family]}", None
    opts = [
        "--quiet",
        "--color 0",
        "--warnings off",
        "--nodns min",
        # not --fast: it tests the cipher categories with the local openssl, which does not
        # offer anonymous suites, so it misses them on the server (seen: aNULL unnoticed)
        # protocols, cipher categories, forward secrecy, server defaults (the certificate),
        # vulnerabilities, server preferences, HTTP headers: all but the client simulation
        "-p -s -f -S -U -P -h",
        "--severity HIGH",
        f"--jsonfile {OUT}/{port}-{family}.json",
        f"--ip {addr}",
        *(["-6"] if ":" in addr else []),
        *([f"-t {proto}"] if proto else []),
    ]
    return f"testssl {' '.join(opts)} {target} >{OUT}/{port}-{family}.log 2>&1"


@pytest.fixture(scope="module")
def scans(mail) -> dict:
    """Every scan's HIGH and CRITICAL findings, by (port, family)."""
    jobs = [(port, family) for port in TARGETS for family in sorted(FAMILIES)]
    shims = [
        f"python3 {config.PEER_PROBES}/starttls_shim.py {SHIM_PORTS[f]} {FAMILIES[f]} "
        f'{PORTS["managesieve"]} & shims="$shims $!"'
        for f in sorted(FAMILIES)
    ]
    scans = [f'{_cmd(p, f)} & scans="$scans $!"' for p, f in jobs]
    script = "\n".join(
        [f"rm -rf {OUT} && mkdir -p {OUT}", *shims, "sleep 1", *scans]
        + ["wait $scans; kill $shims"]
    )
    mail.sh("peer", script, timeout=900)
    found = {}
    for port, family in jobs:
        raw = mail.sh("peer", f"cat {OUT}/{port}-{family}.json", check=False).stdout
        log = mail.sh("peer", f"tail -5 {OUT}/{port}-{family}.log", check=False).stdout
        assert raw.strip(), f"testssl wrote nothing for {port} over {family}: {log}"
        found[(port, family)] = json.loads(raw)
    return found


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("port", list(TARGETS))
def test_no_high_or_critical_finding(scans, port, family):
    findings = scans[(port, family)]
    # the scan got as far as the server: it reported the protocols it found
    assert not any(f["id"] == "scanProblem" for f in findings), findings
    bad = [
        f"{f['severity']} {f['id']}: {f['finding']}"
        for f in findings
        if f["severity"] in ("HIGH", "CRITICAL") and f["id"] not in ACCEPTED
    ]
    assert bad == [], bad


@pytest.mark.parametrize("port", [PORTS["smtp"], PORTS["submission"], PORTS["submissions"]])
def test_no_anonymous_suite_is_accepted(mail, port):
    """What testssl rated CRITICAL before: an anonymous (aNULL) suite, now refused on the
    SMTP ports, while an ordinary handshake still succeeds."""
    starttls = "" if port == PORTS["submissions"] else "-starttls smtp"

    def handshake(cipher: str) -> str:
        return mail.sh(
            "peer",
            f"openssl s_client -connect {MX1.ip4}:{port} {starttls} -tls1_2 "
            f"-cipher '{cipher}' </dev/null 2>&1 | grep -E '^ *Cipher *:' || true",
        ).stdout

    assert "0000" in handshake("aNULL:@SECLEVEL=0") or "(NONE)" in handshake("aNULL:@SECLEVEL=0"), (
        "an anonymous suite was accepted"
    )
    assert "ECDHE" in handshake("DEFAULT"), "an ordinary handshake failed"
