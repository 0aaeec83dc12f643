"""The webmail's login against a mail client's, in the lab (part of ``make bench``).

The webmail: the time from the login form's submit to the rendered inbox (its message list
shown) in Chromium on the peer, each run a new session. The baseline: an IMAP client on the
peer connecting over TLS, logging in and selecting the same inbox (imaplib). Both over IPv4,
against the same mailbox holding the same messages; the medians of several runs, and their
ratio.
"""

from __future__ import annotations

import json
import statistics
import uuid

import yaml

from lab import config, container
from lab.browser import Browser
from lab.probe import probe

MX1 = config.HOSTS["mx1"]
USER, PASSWORD = "alice@example.com", "alice-demo-pass"
PORTS = yaml.safe_load((config.REPO / "salt/mailserver/parameters/defaults.yaml").read_text())[
    "values"
]["ports"]

IMAP = r"""
import imaplib, json, ssl, sys, time
host, port, user, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
password = sys.stdin.readline().rstrip("\n")
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # a timing, not a check
out = []
for _ in range(runs):
    start = time.monotonic()
    imap = imaplib.IMAP4_SSL(host, port, ssl_context=ctx)
    imap.login(user, password)
    typ, data = imap.select("INBOX")
    out.append(time.monotonic() - start)
    assert typ == "OK", data
    imap.logout()
print(json.dumps({"seconds": out, "messages": int(data[0])}))
"""


def run(runs: int = 9, messages: int = 20) -> dict:
    for i in range(messages):
        ret = probe(
            *("smtp", "--host", MX1.ip4, "--port", str(PORTS["smtp"]), "--starttls"),
            *("--helo", config.HOSTS["peer"].fqdn, "--mail-from", "bench@example.net"),
            *("--to", USER, "--subject", f"bench {i} {uuid.uuid4().hex[:8]}"),
        )
        assert ret["ok"], ret
    browser = Browser([MX1.fqdn], "ipv4", artifacts="bench")
    try:
        browser.login(f"https://{MX1.fqdn}", USER, PASSWORD)  # warm: PHP's opcache, TLS
        web = [browser.login(f"https://{MX1.fqdn}", USER, PASSWORD) for _ in range(runs)]
        browser.shot("inbox")
    finally:
        browser.quit()
    proc = container.exec_(
        "peer",
        "python3",
        "-c",
        IMAP,
        MX1.ip4,
        str(PORTS["imaps"]),
        USER,
        str(runs + 1),
        input=PASSWORD + "\n",
        timeout=300,
    )
    imap = json.loads(proc.stdout)
    web_median = statistics.median(web)
    imap_median = statistics.median(imap["seconds"][1:])  # the first one warms up
    return {
        "runs": runs,
        "messages": imap["messages"],
        "webmail_median": web_median,
        "imap_median": imap_median,
        "ratio": web_median / imap_median,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
