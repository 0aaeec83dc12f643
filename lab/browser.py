"""A real browser from the outside world: Debian's Chromium on the peer, headless, driven over
WebDriver (Selenium) from the host, so tests and benchmarks use the webmail as a user does.

chromedriver runs on the peer as a transient systemd unit, reachable from the host's lab
address only. The browser trusts mx1's certificate by its public key (pinned for this session,
as a user who accepted it would), and reaches mx1's names over one address family at a time.
Screenshots are test artifacts, under build/artifacts/ (or $MSLAB_ARTIFACTS).
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
import time
import urllib.request
from pathlib import Path

from . import config, container
from .until import until

PORT = 9515
PEER = config.HOSTS["peer"]
MX1 = config.HOSTS["mx1"]
ARTIFACTS = Path(os.environ.get("MSLAB_ARTIFACTS", config.REPO / "build" / "artifacts"))


def _driver_up() -> bool:
    try:
        with urllib.request.urlopen(f"http://{PEER.ip4}:{PORT}/status", timeout=3) as resp:
            return b'"ready":true' in resp.read().replace(b" ", b"")
    except OSError:
        return False


def start_driver() -> None:
    """chromedriver on the peer, once (it outlives one browser session)."""
    container.sh(
        "peer",
        "systemctl is-active -q chromedriver || systemd-run --unit=chromedriver --collect "
        f"chromedriver --port={PORT} --allowed-ips={config.HOST_IP4} --allowed-origins='*'",
    )
    until(_driver_up, "chromedriver on the peer", 30)


def spki_pin(addr: str = MX1.ip4, port: int = 443) -> str:
    """base64 SHA-256 of the public key of the certificate served at ``addr`` (Chromium's
    pin)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = ssl.get_server_certificate((addr, port), timeout=10)
    key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


class Browser:
    """One headless Chromium session on the peer. ``family`` picks the address every name of
    ``names`` maps to (``host``'s IPv4 or IPv6 address, mx1's unless told)."""

    def __init__(
        self,
        names: list[str],
        family: str = "ipv4",
        artifacts: str = "webmail",
        host: config.Host = MX1,
    ):
        from selenium import webdriver

        start_driver()
        addr = host.ip4 if family == "ipv4" else f"[{host.ip6}]"
        self.family = family
        self.dir = ARTIFACTS / artifacts
        self.dir.mkdir(parents=True, exist_ok=True)
        opts = webdriver.ChromeOptions()
        for arg in (
            "--headless=new",
            "--no-sandbox",  # root in a container
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            f"--ignore-certificate-errors-spki-list={spki_pin(host.ip4)}",
            "--host-resolver-rules=" + ", ".join(f"MAP {n} {addr}" for n in names),
        ):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Remote(f"http://{PEER.ip4}:{PORT}", options=opts)
        # the browser's console (CSP violations, script errors), read through chromedriver
        self.driver.command_executor.add_command("getLog", "POST", "/session/$sessionId/se/log")
        self.console: list[dict] = []

    # --- basics -------------------------------------------------------------------------
    def get(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str):
        """The visible elements matching ``css`` (in the current frame); none while the page
        is being replaced under them."""
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By

        try:
            return [e for e in self.driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
        except StaleElementReferenceException:
            return []

    def poll(self, predicate, what: str, timeout: float = 30, interval: float = 0.2):
        """``until`` for things in the page: an element replaced while it was being looked
        at counts as not there yet."""
        from selenium.common.exceptions import StaleElementReferenceException

        def safe():
            try:
                return predicate()
            except StaleElementReferenceException:
                return None

        return until(safe, what, timeout, interval)

    def wait(self, css: str, what: str, timeout: float = 30):
        """The first visible element matching ``css``, once there is one."""
        return self.poll(lambda: self.find(css), what, timeout)[0]

    def click(self, css: str, what: str, timeout: float = 30) -> None:
        """Click the first visible element matching ``css`` once it is enabled (Roundcube
        enables a button only when its command can run)."""

        def enabled():
            found = [
                e for e in self.find(css) if "disabled" not in (e.get_attribute("class") or "")
            ]
            return found and found[0]

        self.poll(enabled, what, timeout).click()

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def idle(self, what: str = "the webmail to finish its requests", timeout: float = 30):
        """Roundcube has no request in flight."""
        until(lambda: self.js("return !!window.rcmail && !rcmail.busy"), what, timeout, 0.2)

    def shot(self, name: str) -> Path:
        path = self.dir / f"{name}-{self.family}.png"
        self.driver.save_screenshot(str(path))
        return path

    def logs(self) -> list[dict]:
        """Everything the console said so far in this session."""
        self.console += self.driver.execute("getLog", {"type": "browser"})["value"]
        return self.console

    def csp_violations(self) -> list[str]:
        return [e["message"] for e in self.logs() if "Content Security Policy" in e["message"]]

    def quit(self) -> None:
        self.driver.quit()

    # --- Roundcube --------------------------------------------------------------------------
    def login_form(self, base: str) -> None:
        self.driver.delete_all_cookies()
        self.get(base + "/")
        self.wait("#rcmloginuser", "the login form")

    def submit_login(self, user: str, password: str) -> None:
        self.find("#rcmloginuser")[0].send_keys(user)
        self.find("#rcmloginpwd")[0].send_keys(password)
        self.find("#rcmloginsubmit")[0].click()

    def login(self, base: str, user: str, password: str) -> float:
        """Log in; the seconds from the form's submit to the inbox's rendered list."""
        self.login_form(base)
        start = time.monotonic()
        self.submit_login(user, password)
        self.wait("#messagelist", "the inbox")
        until(
            lambda: self.js(
                "return !!window.rcmail && rcmail.env.mailbox == 'INBOX' && !rcmail.busy "
                "&& !!rcmail.message_list && document.querySelectorAll("
                "'#messagelist tbody tr').length > 0"
            ),
            "the inbox's messages",
            30,
            0.05,
        )
        return time.monotonic() - start

    def login_error(self) -> str:
        """The error the login page shows, once it shows one."""
        return self.wait("#messagestack .error, #messagestack div", "the login error").text

    def open_message(self, subject: str) -> None:
        """Click the message with ``subject`` in the current list."""

        def row():
            self.idle()  # never a list in the middle of being redrawn
            for r in self.find("#messagelist tbody tr"):
                if subject in r.text:
                    return r
            # what a click on the folder does: its list again
            self.js("rcmail.list_mailbox(rcmail.env.mailbox)")
            return None

        self.poll(row, f"{subject} in the message list", 30, 1).click()
        # the preview starts a moment after the click; Roundcube ignores commands until
        # it is shown
        until(
            lambda: self.js(
                "var uid = rcmail.message_list.get_single_selection(),"
                " f = document.getElementById('messagecontframe');"
                "return !rcmail.busy && !!uid && !!f && !!f.contentWindow.rcmail"
                " && f.contentWindow.location.href.indexOf('_uid=' + uid + '&') > 0"
                " && f.contentWindow.document.readyState == 'complete';"
            ),
            f"{subject} shown",
            30,
            0.2,
        )
