"""The inbound pipeline against bare Postfix and Dovecot, in the lab (part of ``make bench``).

mx1 runs the formula's whole inbound path: the peer whitelisted in Postgrey (a known sender),
the OpenDKIM, OpenDMARC and rspamd milters, LMTP into Dovecot, mail written into the
encrypted store. mx2 (free during a benchmark) gets the baseline: Debian's Postfix handing
every message to Dovecot's LMTP on plain disk, nothing else. The peer sends to each from
several connections at once for the same time; the figure is the messages accepted per
second over that time, reported once every one of them is in the mailbox (counted there);
how many deliveries were deferred on the way, and when the last one arrived, come with it.
"""

from __future__ import annotations

import json
import time
import uuid

from lab import config, container
from lab.until import until

BARE = r"""
set -e
export DEBIAN_FRONTEND=noninteractive
debconf-set-selections <<'EOF'
postfix postfix/main_mailer_type select Internet Site
postfix postfix/mailname string mx2.bare.test
EOF
apt-get update -q >/dev/null
apt-get install -y -q postfix dovecot-core dovecot-lmtpd >/dev/null
cat >/etc/dovecot/dovecot.conf <<'EOF'
protocols = lmtp
ssl = no
first_valid_uid = 8
mail_location = maildir:/var/bench-mail/%d/%n
userdb {
  driver = static
  args = uid=mail gid=mail home=/var/bench-mail/%d/%n
}
passdb {
  driver = static
  args = nopassword=y
}
service lmtp {
  unix_listener /var/spool/postfix/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
EOF
install -d -o mail -g mail /var/bench-mail
postconf -e myhostname=mx2.bare.test mydestination= inet_interfaces=all inet_protocols=all \
  virtual_mailbox_domains=bare.test virtual_transport=lmtp:unix:private/dovecot-lmtp \
  smtpd_reject_unlisted_recipient=no maillog_file=/var/log/postfix.log \
  "smtpd_relay_restrictions=permit_mynetworks, reject_unauth_destination"
systemctl restart dovecot postfix
"""


def _load(host: str, rcpt: str, seconds: int, conns: int, tag: str) -> dict:
    script = (config.REPO / "tests/bench/smtp_load.py").read_text()
    proc = container.exec_(
        "peer", "python3", "-", host, rcpt, str(seconds), str(conns), tag,
        input=script, timeout=seconds + 300,
    )  # fmt: skip
    return json.loads(proc.stdout)


def _count_mx1(tag: str) -> int:
    out = container.sh("mx1", f"doveadm search -u alice@example.com subject '{tag}' | wc -l")
    return int(out.stdout.strip() or 0)


def _count_mx2(tag: str) -> int:
    out = container.sh("mx2", f"grep -rl '^Subject: {tag}' /var/bench-mail | wc -l", check=False)
    return int(out.stdout.strip() or 0)


def _measure(name, lab_host, host, rcpt, count, seconds, conns) -> dict:
    """Messages accepted per second over the window, once every one of them is delivered
    (a message Dovecot deferred is retried at once, not after Postfix's backoff)."""
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    start = time.monotonic()
    sent = _load(host, rcpt, seconds, conns, tag)

    def delivered():
        if count(tag) >= sent["accepted"]:
            return True
        container.sh(lab_host, "postqueue -f", check=False)
        return False

    until(delivered, f"{name}: every accepted message delivered", timeout=600, interval=2)
    deferred = container.sh(
        lab_host, f"journalctl --no-pager --since=-{int(time.monotonic() - start) + 5}s "
        "| grep -c 'status=deferred'", check=False,
    ).stdout.strip()  # fmt: skip
    return {
        **sent,
        "delivered": count(tag),
        "deferred": int(deferred or 0),
        "drained_after": time.monotonic() - start,
        "per_second": sent["accepted"] / sent["seconds"],
        "tag": tag,
    }


def run(seconds: int = 120, conns: int = 8) -> dict:
    container.sh("mx2", BARE, timeout=900)
    mx1, mx2 = config.HOSTS["mx1"], config.HOSTS["mx2"]
    out = {
        "bare": _measure("bare", "mx2", mx2.ip4, "bench@bare.test", _count_mx2, seconds, conns),
        "formula": _measure(
            "formula", "mx1", mx1.ip4, "alice@example.com", _count_mx1, seconds, conns
        ),
    }
    container.sh(
        "mx1", f"doveadm expunge -u alice@example.com mailbox '*' subject {out['formula']['tag']}"
    )
    out["ratio"] = out["formula"]["per_second"] / out["bare"]["per_second"]
    return out
