"""Unit tests of the zones BIND serves: which records go where, serials, the delegation."""

from __future__ import annotations

import datetime
import ipaddress

import pytest


@pytest.fixture
def bind(minion, model):
    module = minion.mods["mailserver_bind"]
    records = minion.salt["mailserver_dns.records"]
    minion.salt["mailserver_dns.records"] = lambda s: records(s, dkim={})
    module.settings = model(
        domains=["example.com", "example.org", "lists.example.org"],
        dns={"authoritative": {"enabled": True, "reverse": True}},
        tls={"cert_file": "/nonexistent"},
    )
    return module


def test_each_record_goes_to_the_most_specific_served_zone(bind):
    zones = bind.zones(bind.settings)
    assert sorted(zones) == sorted(
        [
            "example.com",
            "example.org",
            "lists.example.org",
            "10.100.51.198.in-addr.arpa",
            ipaddress.ip_address("2001:db8:100::10").reverse_pointer,
        ]
    )
    assert "mx1.example.com. 3600 IN A 198.51.100.10" in zones["example.com"]
    assert "lists.example.org. 3600 IN MX 10 mx1.example.com." in zones["lists.example.org"]
    assert not any(line.startswith("lists.") for line in zones["example.org"])
    assert zones["10.100.51.198.in-addr.arpa"] == [
        "10.100.51.198.in-addr.arpa. 3600 IN PTR mx1.example.com."
    ]


def test_not_authoritative_serves_nothing(bind, model):
    assert bind.zones(model()) == {}


def test_zone_text_and_serials(bind):
    text = bind._zone_text("example.org", ["example.org. 3600 IN MX 10 mx1.example.com."],
                          bind.settings, 2026112601)  # fmt: skip
    assert "example.org. 3600 IN SOA mx1.example.com. hostmaster.example.com. 2026112601 " in text
    assert "example.org. 3600 IN NS mx1.example.com." in text
    assert bind._file_serial(text) == 2026112601
    day = datetime.date(2026, 11, 26)
    assert bind._next_serial(0, day) == 2026112600
    assert bind._next_serial(2026112600, day) == 2026112601
    assert bind._next_serial(2026112699, day) == 2026112700  # an 11th change stays above


def test_delegation_has_ns_glue_inside_the_zone_only_and_ds(bind, model):
    bind.ds_records = lambda zone: [f"1234 13 2 {zone[:4]}"]
    bind.settings = model(
        domains=["example.com", "example.org", "lists.example.org"],
        dns={
            "authoritative": {
                "enabled": True,
                "reverse": True,
                "secondaries": [{"name": "NS2.example.org.", "address": "192.0.2.53"}],
            }
        },
    )
    lines = bind.delegation(bind.settings)
    assert "example.com. 3600 IN NS mx1.example.com." in lines
    assert "example.com. 3600 IN NS ns2.example.org." in lines
    assert "mx1.example.com. 3600 IN AAAA 2001:db8:100::10" in lines
    assert "ns2.example.org. 3600 IN A 192.0.2.53" in lines
    assert "example.org. 3600 IN DS 1234 13 2 exam" in lines
    # glue only where the name server's name is inside the delegated zone
    assert lines.count("mx1.example.com. 3600 IN A 198.51.100.10") == 1
    # and the zone itself has the address of a secondary named inside it
    text = bind._zone_text("example.org", [], bind.settings, 1)
    assert "ns2.example.org. 3600 IN A 192.0.2.53" in text
    assert "ns2.example.org. 3600 IN A" not in bind._zone_text("example.com", [], bind.settings, 1)


def test_bind_looks_up_the_names_of_its_own_private_or_documentation_range(bind):
    assert bind.settings["dns"]["bind"]["empty_zones"] == [
        "100.51.198.in-addr.arpa",
        "8.b.d.0.1.0.0.2.ip6.arpa",
    ]
