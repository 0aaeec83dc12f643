"""Bad input is refused without harm.

Malformed pillars, one table: each is refused by the highstate before any state runs, with a
message naming the key and the reason; the mail database, every file under /etc and the
firewall rules are byte-for-byte as they were."""

from __future__ import annotations

import json

import pytest

from tests.system.test_accounts import sha512

A_HASH = "$6$salt$" + "a" * 86
BACKUP_ON = {
    "enabled": True,
    "repository": "ssh://borg@backup.example.net/srv/borg/mx1",
    "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJWUMTS/syQoodXVC6DuUNMnn/PVmGb8LIlzFP973B6n",
}

# what a bad pillar must leave as it was: /etc (contents, modes, owners, links), the mail
# database (its dump and its grants) and the firewall (the rules, not their counters)
FINGERPRINT = r"""set -e
cd /etc
find . -xdev -printf '%p %y %m %u %g %l\n' | sort
find . -xdev -type f -print0 | sort -z | xargs -0 sha256sum
mysqldump --skip-dump-date --skip-comments --order-by-primary mailserver | sha256sum
mysql -N -e 'SELECT User, Host, Priv FROM mysql.global_priv ORDER BY User, Host' | sha256sum
for save in iptables-save ip6tables-save; do
    $save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
done
"""


def merge(into: dict, patch: dict) -> dict:
    for key, value in patch.items():
        if value is None:  # the key removed
            into.pop(key, None)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


# (what is wrong, the pillar patch, the key the message names, its reason)
BAD = [
    # types and unknown keys
    ("mailboxes-list", {"mailboxes": ["alice@example.com"]}, "mailserver:mailboxes", "must be a"),
    (
        "mailbox-str",
        {"mailboxes": {"alice@example.com": "hash"}},
        "mailserver:mailboxes:alice@example.com",
        "must be a mapping with password_hash",
    ),
    ("unknown", {"extra": 1}, "mailserver:extra", "unknown key"),
    ("port-bool", {"ports": {"smtp": True}}, "mailserver:ports:smtp", "must be int, not bool"),
    ("port-str", {"ports": {"smtp": "25"}}, "mailserver:ports:smtp", "must be int, not str"),
    ("domains-str", {"domains": "example.com"}, "mailserver:domains", "must be a list"),
    ("purge-str", {"purge_removed_mailboxes": "yes"}, "mailserver:purge_removed_mailboxes", "must"),
    # ports out of range or clashing
    ("port-range", {"ports": {"smtp": 70000}}, "mailserver:ports:smtp", "is not a port number"),
    ("port-clash", {"ports": {"imap": 25}}, "mailserver:ports:imap", "port 25 is already smtp's"),
    ("ssh-clash", {"ssh": {"port": 587}}, "mailserver:ports:submission", "port 587 is already"),
    # names, domains and addresses
    ("hostname-short", {"hostname": "localhost"}, "mailserver:hostname", "is not a fully"),
    ("domain-ascii", {"domains": ["exämple.com"]}, "mailserver:domains:0", "is not a domain"),
    ("domain-dup", {"domains": ["example.com", "Example.COM"]}, "mailserver:domains:1", "dupl"),
    (
        "address-bad",
        {"mailboxes": {"eve@@example.com": {"password_hash": A_HASH}}},
        "mailserver:mailboxes:eve@@example.com",
        "not a valid mail address",
    ),
    (
        "address-ascii",
        {"mailboxes": {"évé@example.com": {"password_hash": A_HASH}}},
        "mailserver:mailboxes:évé@example.com",
        "not a valid mail address",
    ),
    (
        "address-case-dup",
        {"mailboxes": {"ALICE@example.com": {"password_hash": A_HASH}}},
        "mailserver:mailboxes:",
        "duplicate mailbox alice@example.com",
    ),
    (
        "address-foreign",
        {"mailboxes": {"eve@example.net": {"password_hash": A_HASH}}},
        "mailserver:mailboxes:eve@example.net",
        "is not in mailserver:domains",
    ),
    # hashes and sizes
    (
        "hash-plain",
        {"mailboxes": {"eve@example.com": {"password_hash": "{PLAIN}secret"}}},
        "mailserver:mailboxes:eve@example.com:password_hash",
        "unknown hash scheme",
    ),
    (
        "hash-none",
        {"mailboxes": {"eve@example.com": {"password_hash": "not-a-hash"}}},
        "mailserver:mailboxes:eve@example.com:password_hash",
        "plain passwords never",
    ),
    (
        "quota-word",
        {"mailboxes": {"alice@example.com": {"quota": "lots"}}},
        "mailserver:mailboxes:alice@example.com:quota",
        "is not a size",
    ),
    # the cluster: another host without its addresses
    (
        "cluster-addresses",
        {
            "cluster": {
                "hosts": {
                    "mx1.example.com": {"roles": ["primary"]},
                    "mx2.example.com": {"roles": ["backup_mx"]},
                }
            }
        },
        "mailserver:cluster:hosts:mx2.example.com",
        "another host needs its addresses",
    ),
    # aliases
    (
        "alias-loop",
        {"aliases": {"x@example.com": "y@example.com", "y@example.com": "x@example.com"}},
        "mailserver:aliases:x@example.com",
        "alias loop",
    ),
    (
        "alias-nowhere",
        {"aliases": {"x@example.com": "nobody@example.com"}},
        "mailserver:aliases:x@example.com",
        "is neither a mailbox nor an alias",
    ),
    (
        "alias-type",
        {"aliases": {"x@example.com": 5}},
        "mailserver:aliases:x@example.com",
        "must be an address or a non-empty list",
    ),
    (
        "alias-into-removed-domain",
        {
            "domains": ["example.com"],
            "mailboxes": {"carol@example.org": None},
            "aliases": {
                "postmaster@example.org": None,
                "@example.org": None,
                "info@example.com": "carol@example.org",
            },
        },
        "mailserver:aliases:info@example.com",
        "which this host no longer receives for",
    ),
    # the admin and the store
    (
        "admin-root",
        {"admin": {"name": "root"}},
        "mailserver:admin:name",
        "'root'",
    ),
    ("admin-nokeys", {"admin": {"ssh_keys": []}}, "mailserver:admin:ssh_keys", "must"),
    (
        "store-nested",
        {"store": {"cipher_dir": "/mail/decrypted-mail/cipher"}},
        "mailserver:store:mount_point",
        "must not be the same or inside each other",
    ),
    ("store-root", {"store": {"mail_root": "/var/mail"}}, "mailserver:store:mail_root", "must be"),
    (
        "store-gocryptfs",
        {"store": {"backend": "gocryptfs"}},
        "mailserver:store:backend",
        "Operation not permitted",
    ),
    (
        "store-unit",
        {"store": {"dependents": ["dovecot"]}},
        "mailserver:store:dependents",
        "'dovecot'",
    ),
    # records, policies and services
    ("spf", {"dns": {"spf": "mx -all"}}, "mailserver:dns:spf", "does not start"),
    ("mta-sts", {"dns": {"mta_sts": {"mode": "strict"}}}, "mailserver:dns:mta_sts:mode", "strict"),
    ("tls-half", {"tls": {"certificate": "PEM"}}, "mailserver:tls", "give both certificate"),
    (
        "limits",
        {"postfwd": {"hard_messages_per_hour": 1}},
        "mailserver:postfwd:hard_messages_per_hour",
        "must be above",
    ),
    ("webmail-name", {"webmail": {"name": "webmail"}}, "mailserver:webmail:name", "is not a"),
    # backups: where to, the target's key, when (a newline would add a line to the unit)
    (
        "backup-repository",
        {"backup": {**BACKUP_ON, "repository": "backup.example.net:/srv/borg/mx1"}},
        "mailserver:backup:repository",
        "is not ssh://USER@HOST[:PORT]/PATH",
    ),
    (
        "backup-host-key",
        {"backup": {**BACKUP_ON, "host_key": ""}},
        "mailserver:backup:host_key",
        "never trusted on first use",
    ),
    (
        "backup-schedule",
        {"backup": {**BACKUP_ON, "schedule": "daily\nExecStartPre=/bin/sh"}},
        "mailserver:backup:schedule",
        "is not a systemd time expression",
    ),
    (
        "guard-probe-reserved",
        {"mailboxes": {"mailserver-guard@example.com": {"password_hash": A_HASH}}},
        "mailserver:mailboxes:mailserver-guard@example.com",
        "reserved for the upgrade guard",
    ),
]


@pytest.fixture(scope="module")
def unchanged(mail):
    """mx1 converged, and its fingerprint (FINGERPRINT) before any bad pillar."""
    before = mail.sh("mx1", FINGERPRINT).stdout
    yield lambda: mail.sh("mx1", FINGERPRINT).stdout == before
    mail.reset_pillar()


@pytest.mark.parametrize(("what", "patch", "key", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_pillar_is_refused_before_any_change(mail, unchanged, what, patch, key, reason):
    pillar = mail.read_pillar()
    merge(pillar, patch)
    if isinstance(pillar["mailboxes"], dict):
        # a new mailbox too: it must not be added when something else is wrong
        pillar["mailboxes"]["frank@example.com"] = {"password_hash": sha512("frank")}
    mail.write_pillar(pillar)
    try:
        rc, data = mail.apply("mx*")
    finally:
        mail.reset_pillar()
    message = json.dumps(data["mx1"], ensure_ascii=False)
    assert rc != 0
    assert isinstance(data["mx1"], list), f"a state ran on a bad pillar: {message[:1000]}"
    assert f"pillar {key}" in message and reason in message, message[:2000]
    assert unchanged(), "the database, /etc or the firewall changed"
