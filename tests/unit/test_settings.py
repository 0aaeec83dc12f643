"""Unit tests of the settings module (defaults + pillar, checked)."""

from __future__ import annotations

import pytest
from salt.exceptions import SaltInvocationError

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJWUMTS/syQoodXVC6DuUNMnn/PVmGb8LIlzFP973B6n x"
ADMIN = {"admin": {"name": "ops", "ssh_keys": [KEY]}}


def with_admin(pillar):
    return {**ADMIN, **pillar} if isinstance(pillar, dict) else pillar


def test_defaults_complete_from_the_minion(mod, defaults):
    out = mod.settings(defaults, with_admin({}))
    assert out["hostname"] == "mail.example.org"
    assert out["mailname"] == "example.org"
    assert "openssl" in out["base"]["pkgs"]


def test_pillar_overrides_and_is_normalised(mod, defaults):
    out = mod.settings(
        defaults, with_admin({"hostname": "MX1.Example.COM.", "mailname": "example.net"})
    )
    assert out["hostname"] == "mx1.example.com"
    assert out["mailname"] == "example.net"


def test_defaults_are_not_mutated(mod, defaults):
    before = repr(defaults)
    mod.settings(defaults, with_admin({"base": {"pkgs": ["x"]}}))
    assert repr(defaults) == before


@pytest.mark.parametrize(
    ("pillar", "message"),
    [
        ({"hostname": 5}, "pillar mailserver:hostname: 5 is not a fully qualified host name"),
        ({"hostname": "localhost"}, "pillar mailserver:hostname: 'localhost' is not a fully"),
        ({"extra": 1}, "pillar mailserver:extra: unknown key"),
        ({"base": {"pkgz": []}}, "pillar mailserver:base:pkgz: unknown key"),
        ({"base": {"pkgs": [""]}}, "pillar mailserver:base:pkgs: must be a list of package"),
        ({"base": {"pkgs": {"a": 1}}}, "pillar mailserver:base:pkgs: must be list, not dict"),
        ("text", "pillar mailserver:: must be a mapping, not str"),
        ({"ports": {"smtp": 0}}, "pillar mailserver:ports:smtp: 0 is not a port number"),
        ({"tls": {"certificate": "PEM"}}, "pillar mailserver:tls: give both certificate"),
        ({"purge_removed_mailboxes": "yes"}, "pillar mailserver:purge_removed_mailboxes: must"),
        ({"domains": "example.com"}, "pillar mailserver:domains: must be a list"),
        ({"admin": {"name": "root", "ssh_keys": [KEY]}}, "pillar mailserver:admin:name: 'root'"),
        ({"admin": {"name": "ops", "ssh_keys": []}}, "pillar mailserver:admin:ssh_keys: must"),
        ({"admin": {"name": "ops", "ssh_keys": ["hunter2"]}}, "pillar mailserver:admin:ssh_keys"),
        ({"dns": {"mta_sts": {"mode": "strict"}}}, "pillar mailserver:dns:mta_sts:mode: 'strict'"),
        ({"dns": {"mta_sts": {"max_age": 60}}}, "pillar mailserver:dns:mta_sts:max_age: 60 is"),
        ({"dns": {"tlsrpt_rua": "tls@x.example"}}, "pillar mailserver:dns:tlsrpt_rua: 'tls@x"),
    ],
)
def test_bad_pillar_names_key_and_reason(mod, defaults, pillar, message):
    with pytest.raises(SaltInvocationError) as err:
        mod.settings(defaults, with_admin(pillar))
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("mx1.example.com", True),
        ("a-b.c", True),
        ("example", False),
        ("-a.example.com", False),
        ("a_b.example.com", False),
        ("a" * 64 + ".com", False),
        ("", False),
        (None, False),
    ],
)
def test_is_hostname(mod, name, ok):
    assert mod.is_hostname(name) is ok


def test_clock_control_follows_cap_sys_time_of_init(mod, tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tsystemd\nCapBnd:\t00000000fcecbfff\n")  # a systemd-nspawn guest
    assert mod.can_set_clock(str(status)) is False
    status.write_text("Name:\tsystemd\nCapBnd:\t000001ffffffffff\n")
    assert mod.can_set_clock(str(status)) is True


def test_mta_sts_enforces_only_with_a_certificate_senders_can_verify(mod, defaults):
    pillar = with_admin({"domains": ["example.com"]})
    out = mod.settings(defaults, pillar)
    assert out["dns"]["mta_sts"]["mode"] == "testing"  # self-signed
    assert out["tls"]["names"] == ["mail.example.org", "mta-sts.example.com"]
    acme = {"tls": {"acme": {"enabled": True, "names": ["webmail.example.com"]}}}
    out = mod.settings(defaults, {**pillar, **acme})
    assert out["dns"]["mta_sts"]["mode"] == "enforce"
    assert out["tls"]["names"] == ["mail.example.org", "mta-sts.example.com", "webmail.example.com"]
