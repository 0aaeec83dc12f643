"""The lab's own invariants: address plan, DNS data, image inputs."""

from __future__ import annotations

import ipaddress

import pytest

from lab import config, dns, image, network

# Ranges that a mail host treats as local or trusted (rspamd's local_addrs, RFC 1918, ULA).
LOCAL_LOOKING = [
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8", "127.0.0.0/8", "::1/128")
]


def test_lab_ranges_avoid_the_hosts_own_ranges():
    for bad in ("192.0.2.0/24", "203.0.113.0/24"):
        assert not config.NET4.overlaps(ipaddress.ip_network(bad))


def test_check_ranges_accepts_this_machine():
    assert network.check_ranges() is None  # it raises when a host route collides with the lab


def test_check_ranges_refuses_a_colliding_range(monkeypatch):
    monkeypatch.setattr(config, "NET4", ipaddress.ip_network("192.0.2.0/25"))
    with pytest.raises(RuntimeError, match=r"overlaps reserved range 192\.0\.2\.0/24"):
        network.check_ranges()


def test_peer_does_not_look_local_to_the_mail_host():
    mx1, peer = config.HOSTS["mx1"], config.HOSTS["peer"]
    for addr in (peer.ip4, peer.ip6):
        ip = ipaddress.ip_address(addr)
        assert not any(ip in net for net in LOCAL_LOOKING if net.version == ip.version)
    assert {peer.ip4, peer.ip6}.isdisjoint({mx1.ip4, mx1.ip6})


def test_every_lab_address_is_in_the_lab_ranges():
    for h in config.HOSTS.values():
        assert ipaddress.ip_address(h.ip4) in config.NET4
        assert ipaddress.ip_address(h.ip6) in config.NET6


def test_dns_has_forward_and_reverse_for_every_host():
    zones = dns.zones()
    text = "\n".join(zones.values())
    for h in config.HOSTS.values():
        label = h.fqdn.split(".")[0]
        assert f"{label} IN A {h.ip4}" in text
        assert f"{label} IN AAAA {h.ip6}" in text
        assert f"{ipaddress.ip_address(h.ip4).reverse_pointer}. IN PTR {h.fqdn}." in text
        assert f"{ipaddress.ip_address(h.ip6).reverse_pointer}. IN PTR {h.fqdn}." in text
    assert "." in zones  # a private root: names outside the lab fail fast


def test_minion_requirements_follow_the_single_pin_file():
    pins = image.minion_requirements()
    assert any(p.startswith("salt==") for p in pins)
    assert {p.split("==")[0].lower() for p in pins} >= {"salt", "pymysql", "passlib", "dnspython"}


def test_leftovers_are_the_labs_own_processes_only():
    from lab import lab

    procs = {
        10: f"systemd-nspawn --register=no --directory={config.STATE}/hosts/mx1/root --boot",
        11: "systemd-nspawn --directory=/var/lib/machines/other --boot",  # someone else's
        12: f"/usr/bin/python3 -m lab.container mx1 {config.STATE}",
        13: f"/usr/sbin/apt-cacher-ng -c {config.STATE}/apt-cacher-ng ForeGround=1",
        14: "/usr/sbin/apt-cacher-ng -c /etc/apt-cacher-ng",
        # the other slot's lab, running beside this one
        15: f"systemd-nspawn --register=no --directory={config.STATE}-1/hosts/mx1/root --boot",
        16: f"/usr/bin/python3 -m lab.container mx1 {config.STATE}-1",
    }
    left = [line for line in lab.leftovers(procs) if line.startswith("process")]
    assert [int(line.split()[1].rstrip(":")) for line in left] == [10, 12, 13]


def test_the_second_slot_serves_the_example_pillar_with_its_own_addresses(monkeypatch):
    monkeypatch.setattr(config, "SLOT", 1)
    monkeypatch.setattr(config, "NET4", ipaddress.ip_network("198.51.100.128/25"))
    monkeypatch.setattr(config, "NET6", ipaddress.ip_network("2001:db8:101::/64"))
    text = "198.51.100.20, [2001:db8:100::20]:25, 198.51.100.20/32, 198.51.100.200, x.198.51.100.2"
    assert config.localize(text) == (
        "198.51.100.148, [2001:db8:101::20]:25, 198.51.100.148/32, 198.51.100.200, x.198.51.100.2"
    )
    pillar = config.example_pillar()
    assert "198.51.100.148" in pillar and "2001:db8:101::20" in pillar
    assert "198.51.100.20\n" not in pillar and "2001:db8:100::" not in pillar
