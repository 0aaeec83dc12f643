"""What the system tests do as users of the mail host: real clients run on the peer."""

from __future__ import annotations

import email
import email.policy
import mailbox
import tempfile
import uuid

import yaml

from lab import config
from lab.until import Timeout, until
from tests.conftest import REPO

# one place for ports and paths: the formula's defaults
DEFAULTS = yaml.safe_load((REPO / "salt/mailserver/parameters/defaults.yaml").read_text())
DEFAULTS = DEFAULTS["values"]
PORTS = DEFAULTS["ports"]
MX1 = config.HOSTS["mx1"]
FAMILIES = {"ipv4": MX1.ip4, "ipv6": MX1.ip6}
# the demo passwords whose hashes are in pillar/mailserver.sls (a unit test keeps them in step)
PASSWORDS = {
    "alice@example.com": "alice-demo-pass",
    "bob@example.com": "bob-demo-pass",
    "carol@example.org": "carol-demo-pass",
}


def tag(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _opts(**kw) -> list[str]:
    """Keyword arguments as the probe's command-line options."""
    out = []
    for key, value in kw.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif isinstance(value, list):
            out += [a for v in value for a in (flag, v)]
        elif value not in (None, False):
            out += [flag, str(value)]
    return out


def imap(lab, user, password, addr=MX1.ip4, **kw) -> dict:
    return lab.probe(
        "imap", *_opts(host=addr, port=PORTS["imaps"], ssl=True, user=user, **kw), password=password
    )


def imap_login(lab, user, password, addr=MX1.ip4) -> dict:
    return imap(lab, user, password, addr)


def inbox(lab, user, subject, folder="INBOX", addr=MX1.ip4, timeout=30.0, password=None):
    """The messages with ``subject`` in ``user``'s ``folder``, read over IMAPS, once there
    are any (polled up to ``timeout``); [] when there are none by then."""

    def messages():
        ret = imap(lab, user, password or PASSWORDS[user], addr, folder=folder, subject=subject)
        return ret.get("messages") if ret.get("ok") else []

    try:
        return until(messages, f"{subject} in {user}'s {folder}", timeout, interval=1)
    except Timeout:
        return []


def send25(lab, to, subject, addr=MX1.ip4, mail_from="someone@example.net", body=None) -> dict:
    """Mail from the outside world to port 25 (with STARTTLS, as MTAs do)."""
    return lab.probe(
        "smtp",
        *_opts(
            host=addr,
            port=PORTS["smtp"],
            starttls=True,
            helo=config.HOSTS["peer"].fqdn,
            mail_from=mail_from,
            to=list(to),
            subject=subject,
            body=body,
        ),
    )


def submit(
    lab, user, to, subject, port="submission", addr=MX1.ip4, mail_from=None, password=None
) -> dict:
    """A mail client submitting as ``user`` on 587 (STARTTLS) or 465 (implicit TLS)."""
    tls = {"ssl": True} if port == "submissions" else {"starttls": True}
    return lab.probe(
        "smtp",
        *_opts(
            host=addr,
            port=PORTS[port],
            user=user,
            mail_from=mail_from or user,
            to=list(to),
            subject=subject,
            **tls,
        ),
        password=PASSWORDS.get(user) if password is None else password,
    )


def served_tlsa(lab, addr) -> str:
    """TLSA 3 1 1 data of the certificate served on port 25, computed on the peer."""
    target = f"[{addr}]" if ":" in addr else addr
    digest = lab.sh(
        "peer",
        f"openssl s_client -connect {target}:{PORTS['smtp']} -starttls smtp </dev/null "
        "2>/dev/null | openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER "
        "| sha256sum",
    ).stdout.split()[0]
    return f"3 1 1 {digest}"


def peer_sends(lab, to: str, subject: str) -> None:
    """The peer's own Postfix sends a message to ``to``, finding mx1 through DNS (and its
    MTA-STS policy, when configured) as any sender in the world does."""
    lab.sh(
        "peer",
        f"printf 'Subject: {subject}\\n\\nfrom the peer\\n' | sendmail -f sink@example.net {to}",
    )


def sink_message(lab, subject, timeout=30.0) -> email.message.EmailMessage:
    """The message with ``subject`` the peer's MTA delivered to its sink mailbox."""

    def delivered():
        text = lab.sh("peer", "cat /var/mail/sink", check=False).stdout
        if subject not in text:
            return None
        with tempfile.NamedTemporaryFile("w", suffix=".mbox") as fh:
            fh.write(text)
            fh.flush()
            for msg in mailbox.mbox(fh.name):
                if msg["Subject"] == subject:
                    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
        return None

    return until(delivered, f"{subject} to reach the peer", timeout, interval=1)


def verdicts(msg, authserv: str = "peer.example.net") -> str:
    """The Authentication-Results ``authserv`` (the peer's, by default) added."""
    return " ".join(
        str(v) for v in msg.get_all("Authentication-Results", []) if str(v).startswith(authserv)
    )
