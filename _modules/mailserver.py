"""
Settings of the mailserver formula: defaults merged with pillar, checked before use.

``map.jinja`` calls :py:func:`settings` while it renders, so a bad pillar stops the whole
run before any state has changed anything; the error names the pillar key and the reason.
"""

import copy
import ipaddress
import re

import yaml
from salt.exceptions import SaltInvocationError

__virtualname__ = "mailserver"

_HOST = re.compile(r"^[A-Za-z0-9.:-]+$")
_ANCHOR = re.compile(r"^257 3 \d{1,3} [A-Za-z0-9+/= ]+$")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SSH_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|sk-ssh-ed25519@openssh\.com|rsa-sha2-(256|512))"
    r" [A-Za-z0-9+/]+={0,3}( .*)?$"
)


def __virtual__():
    return __virtualname__


class PillarError(SaltInvocationError):
    """A pillar value the formula cannot use. The message starts with the pillar key."""

    def __init__(self, key, reason):
        super().__init__(f"pillar mailserver:{key}: {reason}")
        self.key = key
        self.reason = reason


def _merge(base, update, path=""):
    """Deep-merge ``update`` into a copy of ``base``; a key the defaults do not have is an error
    (a typo in pillar must not be silently ignored)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        where = f"{path}:{key}" if path else str(key)
        if key not in base:
            raise PillarError(where, "unknown key (check its spelling against pillar.example)")
        if base[key] is None:  # free-form: checked by its own validator
            out[key] = copy.deepcopy(value)
        elif isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise PillarError(where, f"must be a mapping, not {type(value).__name__}")
            out[key] = _merge(base[key], value, where)
        else:
            if base[key] not in ("", None) and not isinstance(value, type(base[key])):
                raise PillarError(
                    where, f"must be {type(base[key]).__name__}, not {type(value).__name__}"
                )
            out[key] = copy.deepcopy(value)
    return out


def is_hostname(name):
    """True when ``name`` is a fully qualified DNS host name (at least two labels).

    CLI Example:

    .. code-block:: bash

        salt-call mailserver.is_hostname mx1.example.com
    """
    if not isinstance(name, str) or len(name) > 253 or "." not in name:
        return False
    return all(_LABEL.match(label) for label in name.lower().rstrip(".").split("."))


def _network(value):
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return None


def _check_firewall(out):
    """The firewall's extra rules and fail2ban's lists: addresses, ports and names that exist."""
    for i, rule in enumerate(out["firewall"]["allow"]):
        key = f"firewall:allow:{i}"
        if not isinstance(rule, dict) or set(rule) - {"port", "proto", "from"}:
            raise PillarError(key, "must be a mapping of port, proto (tcp/udp) and from")
        port = rule.get("port")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise PillarError(f"{key}:port", f"{port!r} is not a port number")
        if rule.get("proto", "tcp") not in ("tcp", "udp"):
            raise PillarError(f"{key}:proto", f"{rule['proto']!r} is not tcp or udp")
        if rule.get("from", "any") != "any" and not _network(rule["from"]):
            raise PillarError(f"{key}:from", f"{rule['from']!r} is not an address or network")
    for family, version in (("ipv4", 4), ("ipv6", 6)):
        for value in out["dns"]["addresses"][family]:
            try:
                ok = ipaddress.ip_address(str(value)).version == version
            except ValueError:
                ok = False
            if not ok:
                raise PillarError(
                    f"dns:addresses:{family}", f"{value!r} is not an {family} address"
                )
    f2b = out["fail2ban"]
    for value in f2b["ignoreip"]:
        if not _network(value):
            raise PillarError("fail2ban:ignoreip", f"{value!r} is not an address or network")
    known = {"ssh", *out["ports"]}
    for name, jail in f2b["jails"].items():
        unknown = [p for p in jail["ports"] if p not in known]
        if unknown:
            raise PillarError(
                f"fail2ban:jails:{name}:ports",
                f"{unknown[0]!r} is not ssh or a name from ports ({', '.join(sorted(known))})",
            )


CAP_SYS_TIME = 25


def can_set_clock(status_file="/proc/1/status"):
    """True when the host's init keeps CAP_SYS_TIME (false in a container, whose clock is
    the host's): the condition Debian's chrony unit checks.

    CLI Example:

    .. code-block:: bash

        salt-call mailserver.can_set_clock
    """
    try:
        with open(status_file, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("CapBnd:"):
                    return bool(int(line.split()[1], 16) >> CAP_SYS_TIME & 1)
    except OSError:
        pass
    return True


def settings(defaults, pillar=None):
    """
    Return the formula's settings: ``defaults`` with ``pillar`` merged over them, checked and
    completed (the host name from the minion's fqdn, the mail name from the host name).

    Raises an error naming the pillar key and the reason when the pillar is unusable.

    CLI Example:

    .. code-block:: bash

        salt-call mailserver.settings '{"hostname": ""}' '{"hostname": "mx1.example.com"}'
    """
    pillar = pillar or {}
    if not isinstance(pillar, dict):
        raise PillarError("", f"must be a mapping, not {type(pillar).__name__}")
    out = _merge(defaults, pillar)
    if not out["hostname"]:
        out["hostname"] = __grains__.get("fqdn", "")
    if not is_hostname(out["hostname"]):
        raise PillarError("hostname", f"{out['hostname']!r} is not a fully qualified host name")
    out["hostname"] = out["hostname"].lower().rstrip(".")
    if not out["mailname"]:
        out["mailname"] = out["hostname"].split(".", 1)[1]
    if not is_hostname(out["mailname"]):
        raise PillarError("mailname", f"{out['mailname']!r} is not a domain name")
    sections = (
        "base", "mariadb", "postfix", "dovecot", "ssh", "updates", "firewall", "fail2ban", "chrony",
        "web",
    )  # fmt: skip
    for section in sections:
        pkgs = out[section]["pkgs"]
        if not all(isinstance(p, str) and p for p in pkgs):
            raise PillarError(f"{section}:pkgs", "must be a list of package names")
    tls = out["tls"]
    if bool(tls["certificate"]) != bool(tls["private_key"]):
        raise PillarError("tls", "give both certificate and private_key, or neither")
    acme = tls["acme"]
    if acme["enabled"] and tls["certificate"]:
        raise PillarError("tls:acme:enabled", "a certificate is given in pillar: one or the other")
    if acme["enabled"] and not str(acme["server"]).startswith("https://"):
        raise PillarError("tls:acme:server", f"{acme['server']!r} is not an https:// URL")
    bad = [n for n in acme["names"] if not is_hostname(n)]
    if bad:
        raise PillarError("tls:acme:names", f"{bad[0]!r} is not a host name")
    if acme["ca_bundle"] and "-----BEGIN CERTIFICATE-----" not in acme["ca_bundle"]:
        raise PillarError("tls:acme:ca_bundle", "must be PEM (-----BEGIN CERTIFICATE-----)")
    for name, port in out["ports"].items():
        if not isinstance(port, int) or not 0 < port < 65536:
            raise PillarError(f"ports:{name}", f"{port!r} is not a port number")
    admin = out["admin"]
    if not re.match(r"^[a-z_][a-z0-9_-]{0,31}$", admin["name"] or "") or admin["name"] == "root":
        raise PillarError(
            "admin:name",
            f"{admin['name']!r} is not a login name for the admin "
            "(required: root and password logins are off)",
        )
    keys = admin["ssh_keys"]
    if not keys or not all(isinstance(k, str) and _SSH_KEY.match(k) for k in keys):
        raise PillarError(
            "admin:ssh_keys",
            "must be a non-empty list of SSH public keys (ssh-ed25519 AAAA..., ssh-rsa AAAA...)",
        )
    _check_firewall(out)
    chrony = out["chrony"]
    if chrony["clock_control"] is None:
        chrony["clock_control"] = can_set_clock()
    sources = [*chrony["servers"], *chrony["pools"]]
    if not sources or not all(isinstance(h, str) and _HOST.match(h) for h in sources):
        raise PillarError("chrony", "servers and pools: at least one host name or address")
    store = out["store"]
    if store["backend"] not in store["pkgs"]:
        raise PillarError(
            "store:backend",
            f"{store['backend']!r} is not one of " + ", ".join(sorted(store["pkgs"])),
        )
    if not store["mail_root"].startswith(store["mount_point"].rstrip("/") + "/"):
        raise PillarError("store:mail_root", f"must be inside the store ({store['mount_point']})")
    unknown = [d for d in store["dependents"] if d not in store["units"]]
    if unknown:
        raise PillarError("store:dependents", f"no systemd unit known for {unknown[0]!r}")
    # the accounts as pillar gives them, once they pass their checks
    out["accounts"] = {
        k: out[k] or ({} if k != "domains" else []) for k in ("domains", "mailboxes", "aliases")
    }
    __salt__["mailserver_accounts.validate"](out["accounts"])
    _complete_dns(out)
    return out


def _complete_dns(out):
    """MTA-STS and TLS-RPT settings checked; the names the certificate must cover."""
    dns, tls = out["dns"], out["tls"]
    sts = dns["mta_sts"]
    if not sts["mode"]:
        trusted = bool(tls["certificate"]) or tls["acme"]["enabled"]
        sts["mode"] = "enforce" if trusted else "testing"
    if sts["mode"] not in ("enforce", "testing", "none"):
        raise PillarError("dns:mta_sts:mode", f"{sts['mode']!r} is not enforce, testing or none")
    # RFC 8461 3.2: at most 31557600 s; less than a day defeats the policy's purpose
    if not isinstance(sts["max_age"], int) or not 86400 <= sts["max_age"] <= 31557600:
        raise PillarError("dns:mta_sts:max_age", f"{sts['max_age']!r} is not 86400..31557600 s")
    rua = dns["tlsrpt_rua"]
    if rua and not re.match(r"^(mailto:[^@\s,;!]+@[^@\s,;!]+|https://[^\s,;!]+)$", rua):
        raise PillarError("dns:tlsrpt_rua", f"{rua!r} is not a mailto: or https:// URI")
    _check_bind(dns)
    # who the host's own programs ask: its BIND, or the resolvers it was given
    if dns["resolver"]["enabled"]:
        dns["nameservers"] = ["127.0.0.1", "::1"]
    else:
        dns["nameservers"] = [
            ns
            for ns in __grains__.get("dns", {}).get("nameservers", [])
            if not ipaddress.ip_address(ns).is_loopback
        ]
    domains = out["accounts"]["domains"]
    sts["names"] = [f"mta-sts.{d}" for d in domains]
    # every name the certificate covers: the host, the MTA-STS names, the admin's extra names
    tls["names"] = list(dict.fromkeys([out["hostname"], *sts["names"], *tls["acme"]["names"]]))


def current(saltenv="base"):
    """
    The settings in force for this minion: the formula's defaults (from the master's file
    server) with this minion's pillar merged over them, checked. What functions called from
    the command line use (the states get the same through map.jinja).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver.current
    """
    path = __salt__["cp.cache_file"]("salt://mailserver/parameters/defaults.yaml", saltenv)
    if not path:
        raise SaltInvocationError("salt://mailserver/parameters/defaults.yaml is not served")
    with open(path, encoding="utf-8") as fh:
        defaults = yaml.safe_load(fh)["values"]
    # a fresh pillar from the master (the minion's in-memory copy can lag behind an edit),
    # unmasked (Salt 3008 masks pillar values in what pillar functions return by default)
    return settings(defaults, __salt__["pillar.items"](unmask=True).get("mailserver", {}))


def _address(key, value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise PillarError(key, f"{value!r} is not an IP address") from None


def _check_bind(dns):
    """The resolver's root hints and trust anchors, the authoritative server's secondaries."""
    for i, addr in enumerate(dns["resolver"]["root_hints"]):
        _address(f"dns:resolver:root_hints:{i}", addr)
    for i, anchor in enumerate(dns["resolver"]["trust_anchors"]):
        if not isinstance(anchor, str) or not _ANCHOR.match(anchor):
            raise PillarError(
                f"dns:resolver:trust_anchors:{i}",
                "must be a root KSK's DNSKEY data: 257 3 <algorithm> <base64 key>",
            )
    auth = dns["authoritative"]
    for i, sec in enumerate(auth["secondaries"]):
        key = f"dns:authoritative:secondaries:{i}"
        if not isinstance(sec, dict) or set(sec) != {"name", "address"}:
            raise PillarError(key, "must be {name: <host name>, address: <IP address>}")
        if not is_hostname(sec["name"]):
            raise PillarError(f"{key}:name", f"{sec['name']!r} is not a host name")
        _address(f"{key}:address", sec["address"])
    timers = auth["soa_timers"]
    if len(timers) != 4 or not all(isinstance(t, int) and t > 0 for t in timers):
        raise PillarError("dns:authoritative:soa_timers", "must be 4 positive numbers of seconds")
    if not isinstance(auth["rate_limit"], int) or auth["rate_limit"] < 0:
        raise PillarError("dns:authoritative:rate_limit", "must be a number >= 0 (0: no limit)")
