"""Unit tests of the accounts module: pillar checks, the plan, password hashes."""

from __future__ import annotations

import io

import pytest
import yaml
from passlib import hash as passlib_hash

from tests.conftest import REPO

SHA = passlib_hash.sha512_crypt.using(rounds=5000).hash("secret")
BLF = passlib_hash.bcrypt.using(ident="2y", rounds=4).hash("secret")
ARGON = passlib_hash.argon2.using(type="ID", memory_cost=64, rounds=1).hash("secret")
DEMO_PASSWORDS = {
    "alice@example.com": "alice-demo-pass",
    "bob@example.com": "bob-demo-pass",
    "carol@example.org": "carol-demo-pass",
}


def good(**over):
    base = {
        "domains": ["example.com", "example.org"],
        "mailboxes": {
            "alice@example.com": {"password_hash": SHA, "quota": "2G"},
            "bob@example.com": {"password_hash": "{BLF-CRYPT}" + BLF},
            "carol@example.org": {"password_hash": ARGON, "quota": 1000},
        },
        "aliases": {
            "postmaster@example.com": "alice@example.com",
            "info@example.com": ["bob@example.com", "alice@example.com"],
            "@example.org": "carol@example.org",
        },
    }
    base.update(over)
    return base


def example_pillar():
    return yaml.safe_load((REPO / "pillar/mailserver.sls").read_text())["mailserver"]


def test_example_pillar_is_valid_and_its_hashes_match_the_demo_passwords(accounts):
    out = accounts.validate(example_pillar())
    assert set(out["mailboxes"]) == set(DEMO_PASSWORDS)
    assert len(out["domains"]) == 2
    schemes = set()
    for addr, spec in out["mailboxes"].items():
        scheme = spec["password"][1:].split("}", 1)[0]
        schemes.add(scheme)
        bare = spec["password"].split("}", 1)[1]
        handler = getattr(passlib_hash, accounts.SCHEMES[scheme][0])
        assert handler.verify(DEMO_PASSWORDS[addr], bare), addr
    assert schemes == {"SHA512-CRYPT", "BLF-CRYPT", "ARGON2ID"}


def test_validate_normalises(accounts):
    out = accounts.validate(good())
    assert out["mailboxes"]["alice@example.com"] == {
        "password": "{SHA512-CRYPT}" + SHA,
        "quota": 2 * 1024**3,
    }
    assert out["mailboxes"]["bob@example.com"]["password"] == "{BLF-CRYPT}" + BLF
    assert out["mailboxes"]["carol@example.org"]["password"] == "{ARGON2ID}" + ARGON
    assert out["aliases"]["info@example.com"] == ["alice@example.com", "bob@example.com"]
    assert out["aliases"]["@example.org"] == ["carol@example.org"]


@pytest.mark.parametrize(
    ("over", "key", "reason"),
    [
        ({"domains": ["example.com", "Example.COM"]}, "domains:1", "duplicate domain"),
        ({"domains": ["nodot"]}, "domains:0", "is not a domain name"),
        ({"mailboxes": {"alice": {"password_hash": SHA}}}, "mailboxes:alice", "not a valid mail"),
        (
            {"mailboxes": {"a@example.net": {"password_hash": SHA}}},
            "mailboxes:a@example.net",
            "domain example.net is not in mailserver:domains",
        ),
        (
            {
                "mailboxes": {
                    "a@example.com": {"password_hash": SHA},
                    "A@example.com": {"password_hash": SHA},
                }
            },
            "mailboxes:A@example.com",
            "duplicate mailbox a@example.com",
        ),
        (
            {"mailboxes": {"a@example.com": {"password_hash": "hunter2"}}},
            "mailboxes:a@example.com:password_hash",
            "plain passwords never go in pillar",
        ),
        (
            {"mailboxes": {"a@example.com": {"password_hash": "{MD5}abc"}}},
            "mailboxes:a@example.com:password_hash",
            "unknown hash scheme {MD5}",
        ),
        (
            {"mailboxes": {"a@example.com": {"password_hash": "$6$abc"}}},
            "mailboxes:a@example.com:password_hash",
            "malformed SHA512-CRYPT hash",
        ),
        (
            {"mailboxes": {"a@example.com": {"password_hash": SHA, "quota": "lots"}}},
            "mailboxes:a@example.com:quota",
            "is not a size",
        ),
        (
            {"mailboxes": {"a@example.com": {"password_hash": SHA, "quota": True}}},
            "mailboxes:a@example.com:quota",
            "must be a size",
        ),
        (
            {"mailboxes": {"a@example.com": {"password_hash": SHA, "qouta": 1}}},
            "mailboxes:a@example.com:qouta",
            "unknown key",
        ),
        ({"mailboxes": {"a@example.com": "x"}}, "mailboxes:a@example.com", "must be a mapping"),
        ({"mailboxes": ["a@example.com"]}, "mailboxes", "must be a mapping of addresses"),
        (
            {"aliases": {"x@example.com": "y@example.com", "y@example.com": "x@example.com"}},
            "aliases:x@example.com",
            "alias loop: x@example.com -> y@example.com -> x@example.com",
        ),
        (
            {"aliases": {"alice@example.com": "bob@example.com"}},
            "aliases:alice@example.com",
            "already a mailbox",
        ),
        (
            {"aliases": {"x@example.com": "nobody@example.com"}},
            "aliases:x@example.com",
            "neither a mailbox nor an alias",
        ),
        ({"aliases": {"x@example.com": []}}, "aliases:x@example.com", "non-empty list"),
        (
            {"aliases": {"x@example.com": ["bob@example.com", "BOB@example.com"]}},
            "aliases:x@example.com:1",
            "duplicate destination",
        ),
        ({"aliases": {"@bad": "bob@example.com"}}, "aliases:@bad", "not a catch-all"),
        (
            {"aliases": {"x@example.net": "bob@example.com"}},
            "aliases:x@example.net",
            "not in mailserver:domains",
        ),
    ],
)
def test_bad_accounts_pillar_names_key_and_reason(accounts, over, key, reason):
    with pytest.raises(accounts.PillarError) as err:
        accounts.validate(good(**over))
    assert str(err.value).startswith(f"pillar mailserver:{key}: ")
    assert reason in str(err.value)


def test_outside_destinations_are_fine(accounts):
    out = accounts.validate(good(aliases={"fwd@example.com": "someone@example.net"}))
    assert out["aliases"] == {"fwd@example.com": ["someone@example.net"]}


def _current(accounts, spec):
    desired = accounts.validate(spec)
    domains = {d: i for i, d in enumerate(desired["domains"], 1)}
    pairs = {(s, d) for s, ds in desired["aliases"].items() for d in ds}
    return domains, {a: dict(v) for a, v in desired["mailboxes"].items()}, pairs


def test_plan_is_empty_when_in_sync(accounts):
    assert accounts._plan(_current(accounts, good()), accounts.validate(good())) == {}


def test_plan_names_exact_changes_and_never_a_hash(accounts):
    current = _current(accounts, good())
    spec = good()
    spec["mailboxes"] = dict(spec["mailboxes"])
    del spec["mailboxes"]["bob@example.com"]
    spec["aliases"] = {
        "postmaster@example.com": "alice@example.com",
        "@example.org": "carol@example.org",
    }
    spec["mailboxes"]["dave@example.com"] = {"password_hash": SHA}
    spec["mailboxes"]["alice@example.com"] = {"password_hash": BLF, "quota": "1G"}
    ops = accounts._plan(current, accounts.validate(spec))
    assert ops == {
        "mailboxes_added": ["dave@example.com"],
        "mailboxes_removed": ["bob@example.com"],
        "passwords_changed": ["alice@example.com"],
        "quotas_changed": ["alice@example.com"],
        "aliases_removed": [
            "info@example.com -> alice@example.com",
            "info@example.com -> bob@example.com",
        ],
    }
    assert "$" not in repr(ops)


def test_hash_password_reads_stdin_and_verifies(accounts, monkeypatch):
    for scheme in accounts.SCHEMES:
        monkeypatch.setattr("sys.stdin", io.StringIO("s3cret pass\n"))
        stored = accounts.hash_password(scheme)
        assert stored[1:].split("}", 1)[0] == scheme
        handler = getattr(passlib_hash, accounts.SCHEMES[scheme][0])
        assert handler.verify("s3cret pass", stored.split("}", 1)[1])
        # what it makes is what validate accepts
        accounts.validate(
            {"domains": ["example.com"], "mailboxes": {"a@example.com": {"password_hash": stored}}}
        )
