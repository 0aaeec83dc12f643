"""The lab's private network.

A netns ``mslab-br`` (``mslab1-br`` in the second slot) holds a bridge; every lab host gets
its own netns with a veth whose other end sits on that bridge; the host joins the bridge
through one more veth so that the lab can reach the salt-master and the apt proxy. Nothing
is routed or NATed beyond it.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from . import config
from .sh import log, ok, run


def _routes() -> list[ipaddress._BaseNetwork]:
    nets = []
    for family in ("-4", "-6"):
        for r in json.loads(run("ip", "-j", family, "route", "show", "table", "all").stdout):
            dst = r.get("dst")
            if dst in (None, "default") or r.get("dev") == config.HOST_VETH:
                continue
            try:
                nets.append(ipaddress.ip_network(dst, strict=False))
            except ValueError:
                continue
    return nets


def check_ranges() -> None:
    """Refuse to build the lab on ranges that the host uses or that look local to a mail host."""
    for net in (config.NET4, config.NET6):
        for bad in config.FORBIDDEN:
            if net.version == bad.version and net.overlaps(bad):
                raise RuntimeError(f"lab range {net} overlaps reserved range {bad}")
        for route in _routes():
            if route.version == net.version and route.overlaps(net) and route.prefixlen > 0:
                if route.is_link_local or route.is_multicast or route.is_loopback:
                    continue
                raise RuntimeError(f"lab range {net} collides with host route {route}")


def netns_list() -> list[str]:
    p = Path("/run/netns")
    return sorted(n.name for n in p.iterdir()) if p.is_dir() else []


def _in(ns: str, *argv: str, check: bool = True):
    return run("ip", "netns", "exec", ns, *argv, check=check)


def up() -> None:
    check_ranges()
    br = config.BRIDGE_NETNS
    run("ip", "netns", "add", br)
    _in(br, "ip", "link", "set", "lo", "up")
    _in(br, "ip", "link", "add", "br0", "type", "bridge")
    _in(br, "ip", "link", "set", "br0", "up")
    # The host's leg: its own addresses on the lab network, nodad so they are usable at once.
    # (its other end made in the bridge's netns at once: the other slot's lab may be making
    # its own h-br in the host's namespace at the same moment)
    run("ip", "link", "add", config.HOST_VETH, "type", "veth", "peer", "name", "h-br", "netns", br)
    _in(br, "ip", "link", "set", "h-br", "master", "br0", "up")
    run("ip", "addr", "add", f"{config.HOST_IP4}/{config.NET4.prefixlen}", "dev", config.HOST_VETH)
    run(
        "ip",
        "-6",
        "addr",
        "add",
        f"{config.HOST_IP6}/{config.NET6.prefixlen}",
        "dev",
        config.HOST_VETH,
        "nodad",
    )
    run("ip", "link", "set", config.HOST_VETH, "up")
    for host in config.HOSTS.values():
        ns = host.netns
        run("ip", "netns", "add", ns)
        _in(ns, "ip", "link", "set", "lo", "up")
        run(
            "ip",
            "link",
            "add",
            "eth0",
            "netns",
            ns,
            "type",
            "veth",
            "peer",
            "name",
            host.veth,
            "netns",
            br,
        )
        _in(br, "ip", "link", "set", host.veth, "master", "br0", "up")
        _in(ns, "ip", "addr", "add", f"{host.ip4}/{config.NET4.prefixlen}", "dev", "eth0")
        _in(
            ns,
            "ip",
            "-6",
            "addr",
            "add",
            f"{host.ip6}/{config.NET6.prefixlen}",
            "dev",
            "eth0",
            "nodad",
        )
        _in(ns, "ip", "link", "set", "eth0", "up")
    log.info("lab network up: %s, %s", config.NET4, config.NET6)


def down() -> None:
    """Remove every lab netns and the host's veth; safe to call on a half-built or absent lab."""
    if ok("ip", "link", "show", config.HOST_VETH):
        run("ip", "link", "del", config.HOST_VETH, check=False)
    for ns in netns_list():
        if ns.startswith(config.PREFIX + "-"):
            # processes still inside would keep the namespace alive
            pids = run("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                run("kill", "-KILL", pid, check=False)
            run("ip", "netns", "del", ns, check=False)


def leftovers() -> list[str]:
    """What of a lab network is still on the host (empty when torn down)."""
    left = [f"netns {n}" for n in netns_list() if n.startswith(config.PREFIX + "-")]
    if ok("ip", "link", "show", config.HOST_VETH):
        left.append(f"link {config.HOST_VETH}")
    return left
