"""The webmail, used from the peer in a real browser (headless Chromium, over IPv4 and IPv6):
log in, read what the peer delivered, send a message that reaches the peer DKIM-signed, make a
filter that files the next message, mark a message as junk (rspamd learns), get spelling
suggestions, see the login error; and what a browser cannot see, with real clients: the
security headers, TLS 1.2 and newer only, no PHP version, the clients' autoconfiguration XML.

Every step saves a screenshot under build/artifacts/webmail/. The ban of repeated failed
webmail logins is tested with the other jails (test_firewall); the maintenance page while the
store is locked with the reboot (test_store)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from lab import config
from lab.browser import Browser
from lab.until import until
from tests.system.mailclients import (
    DEFAULTS,
    FAMILIES,
    PASSWORDS,
    PORTS,
    inbox,
    send25,
    sink_message,
    tag,
    verdicts,
)

MX1 = config.HOSTS["mx1"]
BASE = f"https://{MX1.fqdn}"  # the webmail's default name: the host's
USER = "alice@example.com"
# a body long enough for rspamd's Bayes to learn from
PROSE = (
    "Dear colleague, the quarterly figures for the northern warehouse are attached as "
    "promised. Shipping volumes rose in every month, returns fell, and the new conveyor "
    "saved about four hours of manual sorting each week. Please review the numbers before "
    "Thursday's meeting so we can agree on the budget for the spring season."
)


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def browser(published, request):
    """A browser on the peer reaching mx1 over one family, logged in as alice."""
    # the inbox shows its list once there is a message in it
    assert send25(published, [USER], tag("first"))["ok"]
    b = Browser([MX1.fqdn], family=request.param)
    b.since = published.sh("mx1", "date +%s").stdout.strip()
    b.login(BASE, USER, PASSWORDS[USER])
    yield b
    b.quit()


def assert_clean(browser, lab) -> None:
    """Nothing went wrong that the user would not see: no Content-Security-Policy violation
    in the browser's console, no PHP error or warning in Roundcube's log."""
    assert not browser.csp_violations()
    log = lab.sh(
        "mx1", f"journalctl SYSLOG_IDENTIFIER=roundcube --since @{browser.since} --no-pager"
    ).stdout
    assert not [line for line in log.splitlines() if "PHP " in line], log[-3000:]


def test_log_in_and_read_a_message_the_peer_delivered(browser, published):
    subject = tag("read")
    assert send25(published, [USER], subject, addr=FAMILIES[browser.family])["ok"]
    browser.shot("01-inbox")
    browser.open_message(subject)
    browser.driver.switch_to.frame("messagecontframe")
    body = browser.wait("#messagebody", "the message's body").text
    browser.driver.switch_to.default_content()
    browser.shot("02-message")
    assert "lab probe" in body, body
    assert_clean(browser, published)


def test_a_message_composed_in_the_browser_reaches_the_peer_dkim_signed(browser, published):
    subject = tag("webmail-sent")
    browser.get(f"{BASE}/?_task=mail&_action=compose&_to=sink@example.net")
    browser.wait("#compose-subject", "the compose form").send_keys(subject)
    browser.find("#composebody")[0].send_keys("Written in the webmail.")
    browser.shot("03-compose")
    browser.click("button.btn.send", "the Send button")
    until(lambda: "_action=compose" not in browser.driver.current_url, "the message sent", 30)
    browser.shot("04-sent")
    msg = sink_message(published, subject)
    result = verdicts(msg)
    assert "dkim=pass" in result and "header.d=example.com" in result, result
    # a copy in Sent, where a mail client's user expects it
    assert inbox(published, USER, subject, folder="Sent")
    assert_clean(browser, published)


def test_a_filter_made_in_settings_files_the_next_matching_message(browser, published):
    word = tag("filtered")
    browser.get(f"{BASE}/?_task=settings&_action=plugin.managesieve")
    browser.click("a.create", "the filters' Create button")
    browser.driver.switch_to.frame("filter-box")
    browser.wait("#_name", "the filter form").send_keys(f"file {word}")
    browser.find("input[name='_rule_target[0][]']")[0].send_keys(word)
    browser.js(
        "var s = document.getElementById('action_mailbox0'); s.value = 'Archive';"
        "s.dispatchEvent(new Event('change'));"
    )
    browser.shot("05-filter")
    browser.click("button.submit", "the filter's Save button")
    browser.driver.switch_to.default_content()
    browser.poll(
        lambda: [r for r in browser.find("#filterslist tr") if f"file {word}" in r.text],
        "the new filter in the list",
    )
    browser.shot("06-filter-saved")
    subject = f"about {word}"
    assert send25(published, [USER], subject)["ok"]
    assert inbox(published, USER, subject, folder="Archive"), "not filed by the filter"
    assert not inbox(published, USER, subject, timeout=0), "left in the inbox too"
    assert_clean(browser, published)


def test_marking_a_message_as_junk_moves_it_and_teaches_rspamd(browser, published):
    before = published.salt_json("mx1", "mailserver_spam.stats")["mx1"]["learned"]
    subject = tag("junk")
    # rspamd learns a text once: a new one each time
    body = f"{PROSE} Reference {subject}, file {tag('ref')}."
    assert send25(published, [USER], subject, body=body)["ok"]
    browser.get(f"{BASE}/?_task=mail&_mbox=INBOX")
    browser.open_message(subject)
    browser.click("a.junk", "the Junk button")
    browser.idle()
    browser.shot("07-junk")
    assert inbox(published, USER, subject, folder="Junk"), "not moved into Junk"

    def learned():
        now = published.salt_json("mx1", "mailserver_spam.stats")["mx1"]["learned"]
        return now > before

    until(learned, "rspamd to learn the message as spam", 60, interval=2)
    assert_clean(browser, published)


def test_the_spell_checker_suggests_words(browser, published):
    browser.get(f"{BASE}/?_task=mail&_action=compose")
    browser.wait("#composebody", "the compose form").send_keys("Helo, this sentense is wrong.")
    browser.click("a.spellcheck", "the Spell button")
    marked = browser.poll(lambda: browser.find("span.googie_link"), "the misspelled words")
    assert [m.text for m in marked] == ["Helo", "sentense"]
    marked[0].click()
    window = browser.wait(".googie_window", "the suggestions")
    browser.shot("08-spelling")
    assert "Hello" in window.text.split("\n"), window.text
    assert_clean(browser, published)


def test_a_wrong_password_shows_the_login_error(browser, published):
    browser.login_form(BASE)
    browser.submit_login(USER, "not-the-password")
    error = browser.login_error()
    browser.shot("09-wrong-password")
    assert "Login failed" in error, error
    # and the right one still works afterwards
    assert browser.login(BASE, USER, PASSWORDS[USER]) > 0
    assert_clean(browser, published)


# --- what a real HTTP client and a TLS client see ---------------------------------------


def curl(lab, url, addr, *args) -> str:
    host = url.split("/")[2]
    target = f"[{addr}]" if ":" in addr else addr
    return lab.sh(
        "peer",
        f"curl -sS -k --resolve {host}:{PORTS['https']}:{target} {' '.join(args)} '{url}'",
    ).stdout


def test_the_webmail_sends_security_headers_and_no_php_version(published, addr):
    head = curl(published, f"{BASE}/", addr, "-D", "-", "-o", "/dev/null").lower()
    for header in (
        "strict-transport-security: max-age=",
        "content-security-policy: default-src 'self'",
        "frame-ancestors 'self'",
        "object-src 'none'",
        "x-content-type-options: nosniff",
        "x-frame-options: sameorigin",
        "referrer-policy: same-origin",
        "permissions-policy:",
    ):
        assert header in head, (header, head)
    assert "x-powered-by" not in head and "php" not in head, head
    assert "server: nginx" in head.splitlines(), head  # no version either
    cookie = next(line for line in head.splitlines() if line.startswith("set-cookie:"))
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie, cookie
    assert "http/2 200" in head, head
    # Roundcube's other files: the static ones only, never its PHP or its configuration
    for path in ("plugins/managesieve/config.inc.php", "config/config.inc.php", "SQL/"):
        code = curl(published, f"{BASE}/{path}", addr, "-o", "/dev/null", "-w", "%{http_code}")
        assert code == "404", (path, code)


def test_tls_1_2_and_newer_only(published, addr):
    target = f"[{addr}]" if ":" in addr else addr
    for version, ok in (("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)):
        out = published.sh(
            "peer",
            f"openssl s_client -connect {target}:{PORTS['https']} -servername {MX1.fqdn} "
            f"{version} </dev/null 2>&1",
            check=False,
        ).stdout
        assert ("BEGIN CERTIFICATE" in out) == ok, (version, out[-400:])


NS = {
    "r": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a",
}


@pytest.mark.parametrize("domain", ["example.com", "example.org"])
def test_thunderbird_and_outlook_find_the_servers_from_the_address(published, domain, addr):
    text = curl(published, f"https://autoconfig.{domain}/mail/config-v1.1.xml", addr)
    provider = ET.fromstring(text).find("emailProvider")
    assert provider.findtext("domain") == domain
    servers = [
        (s.tag, s.get("type"), s.findtext("hostname"), int(s.findtext("port")),
         s.findtext("socketType"), s.findtext("username"))
        for s in provider
        if s.tag in ("incomingServer", "outgoingServer")
    ]  # fmt: skip
    assert servers == [
        ("incomingServer", "imap", MX1.fqdn, PORTS["imaps"], "SSL", "%EMAILADDRESS%"),
        ("incomingServer", "imap", MX1.fqdn, PORTS["imap"], "STARTTLS", "%EMAILADDRESS%"),
        ("outgoingServer", "smtp", MX1.fqdn, PORTS["submissions"], "SSL", "%EMAILADDRESS%"),
        ("outgoingServer", "smtp", MX1.fqdn, PORTS["submission"], "STARTTLS", "%EMAILADDRESS%"),
    ]
    # Outlook POSTs its request
    request = (
        '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com'
        '/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>'
        f"alice@{domain}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com"
        "/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>"
        "</Request></Autodiscover>"
    )
    text = curl(
        published,
        f"https://autodiscover.{domain}/autodiscover/autodiscover.xml",
        addr,
        "-X POST -H 'Content-Type: text/xml' --data-binary",
        f"'{request}'",
    )
    protocols = ET.fromstring(text).findall(".//r:Protocol", NS)
    found = [
        (p.findtext("r:Type", namespaces=NS), p.findtext("r:Server", namespaces=NS),
         int(p.findtext("r:Port", namespaces=NS)), p.findtext("r:Encryption", namespaces=NS))
        for p in protocols
    ]  # fmt: skip
    assert found == [
        ("IMAP", MX1.fqdn, PORTS["imaps"], "SSL"),
        ("SMTP", MX1.fqdn, PORTS["submissions"], "SSL"),
    ]


def test_the_session_key_is_made_on_the_host_and_leaks_nowhere(published):
    path = DEFAULTS["webmail"]["secret_file"]
    mode = published.sh("mx1", f"stat -c '%U:%G %a' {path}").stdout.split()
    assert mode == ["root:roundcube", "640"], mode
    key = published.sh("mx1", f"sed -n \"s/.*des_key'\\] = '\\(.*\\)';/\\1/p\" {path}").stdout
    assert len(key.strip()) >= 32
    assert published.files_holding(key.strip()) == ("", "")
    # Roundcube's data is in the store, its database made by Roundcube on first use
    db = published.sh("mx1", "ls -l /mail/decrypted-mail/roundcube/").stdout
    assert "roundcube.db" in db, db
