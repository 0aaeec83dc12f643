"""The firewall and brute-force blocking seen from the outside (the peer), IPv4 and IPv6:
a full port scan finds exactly the formula's services; repeated failed logins over SSH, SMTP
AUTH, IMAP and the webmail (in a browser) get the peer banned, unban lets it back in, and a
whitelisted address is never banned."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab import config
from lab.browser import Browser
from lab.until import until
from tests.system.mailclients import DEFAULTS, FAMILIES, PORTS, imap_login, submit

PEER = config.HOSTS["peer"]
MX1_FQDN = config.HOSTS["mx1"].fqdn
PEER_ADDR = {"ipv4": PEER.ip4, "ipv6": PEER.ip6}
INTENDED = {DEFAULTS["ssh"]["port"], *PORTS.values()}
# something listening on a port the formula does not open: the firewall must hide it
CANARY_PORT = 8080
MAXRETRY = 3  # the tests' pillar: fewer attempts than the default 5, same mechanism


def scan(lab, addr) -> dict[int, str]:
    """Every TCP port of mx1 as nmap on the peer sees it: {port: state} (open or not)."""
    six = "-6" if ":" in addr else ""
    opts = "-Pn -sS -p- -T4 --min-rate 4000 --max-retries 1 -oX -"
    proc = lab.sh("peer", f"nmap {six} {opts} {addr}", timeout=600)
    root = ET.fromstring(proc.stdout)
    ports = {int(p.get("portid")): p.find("state").get("state") for p in root.iter("port")}
    extra = [e.get("state") for e in root.iter("extraports")]
    return ports, extra


def test_port_scan_finds_exactly_the_formulas_services(mail, addr):
    mail.sh(
        "mx1",
        f"systemd-run --unit=canary-{CANARY_PORT} python3 -m http.server --bind :: {CANARY_PORT}",
    )
    try:
        t0 = time.monotonic()
        ports, extra = scan(mail, addr)
        elapsed = time.monotonic() - t0
    finally:
        mail.sh("mx1", f"systemctl stop canary-{CANARY_PORT}", check=False)
    opened = {p for p, st in ports.items() if st == "open"}
    assert opened == INTENDED, f"open: {sorted(opened)}, intended: {sorted(INTENDED)}"
    # every other port is dropped (filtered), not merely closed: the canary too
    assert ports.get(CANARY_PORT, "filtered") == "filtered"
    assert extra == ["filtered"], extra
    print(f"full TCP scan of {addr}: {elapsed:.1f}s")


# --- brute-force blocking ----------------------------------------------------------------


def reachable(lab, addr, port) -> bool:
    """mx1's port answers the peer (a ban refuses it). A half-open SYN probe: the service
    never sees a connection, so the probe itself never counts as a failed login."""
    six = "-6" if ":" in addr else ""
    out = lab.sh("peer", f"nmap {six} -Pn -sS -p {port} --max-retries 2 {addr}").stdout
    return f"{port}/tcp open" in out


def fail_ssh(lab, addr):
    ret = lab.sh(
        "peer",
        # a ban can land in the middle of an attempt (the previous failure is being read):
        # the keepalives and the timeout end what the dropped packets would leave hanging
        "timeout 30 ssh -o BatchMode=yes -o StrictHostKeyChecking=no "
        "-o UserKnownHostsFile=/dev/null -o ConnectTimeout=3 -o ServerAliveInterval=2 "
        f"-o ServerAliveCountMax=2 nosuchuser@{addr} true",
        check=False,
    )
    assert ret.returncode in (255, 124), ret


def fail_smtp_auth(lab, addr):
    ret = submit(lab, "bob@example.com", ["sink@example.net"], "x", addr=addr, password="wrong")
    assert not ret["ok"]


def fail_imap(lab, addr):
    assert not imap_login(lab, "bob@example.com", "wrong", addr).get("ok")


BROWSERS: dict[str, Browser] = {}  # one browser on the peer per family, for this module


def fail_webmail(lab, addr):
    """A wrong password in the webmail's login form, in a real browser (a new session
    each time, as a password-guessing script would start)."""
    family = "ipv6" if ":" in addr else "ipv4"
    if family not in BROWSERS:
        BROWSERS[family] = Browser([MX1_FQDN], family, artifacts="bans")
    browser = BROWSERS[family]
    browser.login_form(f"https://{MX1_FQDN}")
    browser.submit_login("bob@example.com", "wrong")
    assert "Login failed" in browser.login_error()


@pytest.fixture(scope="module", autouse=True)
def _browsers():
    yield
    while BROWSERS:
        BROWSERS.popitem()[1].quit()


ATTACKS = {
    "sshd": (fail_ssh, DEFAULTS["ssh"]["port"]),
    "postfix-sasl": (fail_smtp_auth, PORTS["submission"]),
    "dovecot": (fail_imap, PORTS["imaps"]),
    "roundcube-auth": (fail_webmail, PORTS["https"]),
}


def ignored(lab, ip) -> int:
    """How often fail2ban's dovecot jail saw a failure from ``ip`` and let it go (whitelist)."""
    log = lab.sh("mx1", "cat /var/log/fail2ban.log", check=False).stdout
    return sum(f"[dovecot] Ignore {ip} by ip" in line for line in log.splitlines())


def test_a_whitelisted_address_is_never_banned(mail):
    """The example pillar's ignoreip holds the peer's addresses: fail2ban sees every failure
    and says it ignores the address (its own word, not a pause), and never bans it."""
    tries = DEFAULTS["fail2ban"]["maxretry"] + 2

    def fail_often(family):  # both families at once: a ban is per address
        addr, ip = FAMILIES[family], PEER_ADDR[family]
        before = ignored(mail, ip)
        for _ in range(tries):
            fail_imap(mail, addr)
        until(lambda: ignored(mail, ip) >= before + tries,
              f"fail2ban to ignore {tries} failures of {ip}", 30)  # fmt: skip

    with ThreadPoolExecutor(len(FAMILIES)) as pool:
        list(pool.map(fail_often, sorted(FAMILIES)))
    banned = mail.salt_json("mx1", "mailserver_fail2ban.banned")["mx1"]
    for family, addr in FAMILIES.items():
        assert PEER_ADDR[family] not in json.dumps(banned), banned
        assert reachable(mail, addr, PORTS["imaps"])


@pytest.fixture(scope="class")
def exposed(mail):
    """The peer is not whitelisted (the example pillar whitelists it) and bans come sooner."""
    pillar = mail.read_pillar()
    # six bans in a row would also make the peer a repeat offender, banned everywhere
    pillar["fail2ban"] = {"ignoreip": [], "maxretry": MAXRETRY, "recidive": {"maxretry": 50}}
    mail.write_pillar(pillar)
    rc, data = mail.apply("mx*", "mailserver.fail2ban")
    assert rc == 0, data
    yield mail
    mail.salt_json("mx1", "mailserver_fail2ban.unban", "every=True")
    mail.reset_pillar()
    rc, data = mail.apply("mx*", "mailserver.fail2ban")
    assert rc == 0, data


def wait_banned(lab, jail, ip, timeout=20) -> bool:
    def banned():
        return ip in lab.salt_json("mx1", "mailserver_fail2ban.banned")["mx1"].get(jail, [])

    return until(banned, f"{jail} to ban {ip}", timeout, interval=1)


class TestBans:
    @pytest.mark.parametrize("family", sorted(FAMILIES))
    @pytest.mark.parametrize("jail", sorted(ATTACKS))
    def test_repeated_failed_logins_get_the_peer_banned_and_unban_lets_it_back(
        self, exposed, jail, family
    ):
        attack, port = ATTACKS[jail]
        addr, ip = FAMILIES[family], PEER_ADDR[family]
        assert reachable(exposed, addr, port)
        for _ in range(MAXRETRY):
            attack(exposed, addr)
        assert wait_banned(exposed, jail, ip), f"{ip} not banned by {jail}"
        assert not reachable(exposed, addr, port), "banned, yet the connection went through"
        # the ban is on the address and the jail's ports: the other family still gets in
        other = next(a for f, a in FAMILIES.items() if f != family)
        assert reachable(exposed, other, port)
        assert exposed.salt_json("mx1", "mailserver_fail2ban.unban", ip)["mx1"] >= 1
        assert reachable(exposed, addr, port), "unbanned, yet still refused"
