"""
The model of a mail host: the formula's defaults with the pillar merged over them, checked,
normalised and completed with every fact derived from them, computed once per run.

``map.jinja`` calls :py:func:`settings` while the states render, so a bad pillar stops the
whole run before any state has changed anything; the error names the pillar key and the
reason. Every state, template and module reads the same model, and no part of it is a
secret (password hashes stay in pillar and in this run's memory only; the TLS key is read
from pillar by the file state that writes it), so it can be returned, logged and written
down: the highstate writes it to a root-only snapshot (:py:func:`current` reads it), which
is how functions called from the command line know the host's settings.

Derived facts, each computed here and nowhere else:

* ``services``: the public services (name, port, protocol) the firewall opens, fail2ban
  closes and the status check probes;
* ``dns``: the host's public addresses, the zones it serves, the MTA-STS policy and its id;
* ``tls.names``: every name the certificate covers;
* ``store``: the layout of mailboxes in the store and the units that depend on it.
"""

import copy
import hashlib
import importlib
import ipaddress
import json
import os
import re
import string
import sys

import yaml
from salt.exceptions import CommandExecutionError, SaltInvocationError

__virtualname__ = "mailserver"

DEFAULTS_URL = "salt://mailserver/parameters/defaults.yaml"
SNAPSHOT = "/etc/mailserver/settings.json"
# Python libraries the formula's modules need in Salt's own Python (cryptography and yaml
# ship with Salt): import name -> package name
REQUIREMENTS = {"passlib": "passlib", "pymysql": "pymysql", "dns.resolver": "dnspython"}
_CACHE = "mailserver.settings"
_CURRENT = "mailserver.current"
_SNAPSHOT = "mailserver.snapshot"
ACCOUNTS = "mailserver.accounts"  # this run's checked accounts, password hashes included

_HOST = re.compile(r"^[A-Za-z0-9.:-]+$")
_ANCHOR = re.compile(r"^257 3 \d{1,3} [A-Za-z0-9+/= ]+$")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOGIN = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_UNIT = re.compile(r"^[A-Za-z0-9@_.-]+\.(service|socket)$")
_SSH_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|sk-ssh-ed25519@openssh\.com|rsa-sha2-(256|512))"
    r" [A-Za-z0-9+/]+={0,3}( .*)?$"
)
# BIND's built-in empty zones for private and documentation ranges (ARM, "Built-in Empty
# Zones"): it answers them itself, NXDOMAIN, which must not happen to the host's own names
_EMPTY_ZONES = (
    "10.in-addr.arpa",
    *(f"{n}.172.in-addr.arpa" for n in range(16, 32)),
    "168.192.in-addr.arpa",
    *(f"{n}.100.in-addr.arpa" for n in range(64, 128)),
    "254.169.in-addr.arpa",
    "2.0.192.in-addr.arpa",
    "100.51.198.in-addr.arpa",
    "113.0.203.in-addr.arpa",
    "8.b.d.0.1.0.0.2.ip6.arpa",
    "d.f.ip6.arpa",
    "8.e.f.ip6.arpa",
    "9.e.f.ip6.arpa",
    "a.e.f.ip6.arpa",
    "b.e.f.ip6.arpa",
)
CAP_SYS_TIME = 25
LOGIN_PROCESS_LIMIT = 100  # Dovecot's default_process_limit, which the formula keeps


def __virtual__():
    return __virtualname__


class PillarError(SaltInvocationError):
    """A pillar value the formula cannot use. The message starts with the pillar key."""

    def __init__(self, key, reason):
        super().__init__(f"pillar mailserver:{key}: {reason}")
        self.key = key
        self.reason = reason


# --- the model ------------------------------------------------------------------------------


def settings(defaults=None, pillar=None):
    """
    The model of this mail host: ``defaults`` (the formula's ``parameters/defaults.yaml``)
    with ``pillar`` (the ``mailserver`` pillar) merged over them, checked, normalised and
    completed. Raises an error naming the pillar key and the reason when the pillar is
    unusable. Computed once per run for the same defaults and pillar.

    From the command line, without arguments, it checks the pillar as the master serves it
    now: run it after editing pillar, before applying.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver.settings
    """
    _check_requirements()
    if defaults is None:
        defaults = _served_defaults()
    if pillar is None:
        # a fresh pillar from the master (the minion's copy can lag behind an edit)
        pillar = __salt__["pillar.items"](unmask=True).get("mailserver", {})
    if not isinstance(pillar, dict):
        raise PillarError("", f"must be a mapping, not {type(pillar).__name__}")
    # the cache key; plain data (Salt 3008 hands pillar over in masking containers)
    key = hashlib.sha256(
        json.dumps([defaults, pillar], sort_keys=True, default=str).encode()
    ).hexdigest()
    cache = __context__.setdefault(_CACHE, {})
    if key not in cache:
        defaults, pillar = json.loads(json.dumps([defaults, pillar], default=str))
        cache.clear()  # one run, one pillar: keep the latest only
        try:
            built = _build(defaults, pillar)
            _check_removed_domains(built[1])  # once per pillar, not at every SLS's render
        except PillarError as exc:
            built = exc  # a bad pillar is judged once too: every SLS raises the same error
        cache[key] = built
    if isinstance(cache[key], PillarError):
        raise PillarError(cache[key].key, cache[key].reason)
    model, accounts = cache[key]
    __context__[_CURRENT] = model
    __context__[ACCOUNTS] = accounts
    return model


def _check_removed_domains(accounts):
    """An alias into a domain the host received for at its last highstate (the snapshot)
    and no longer does: that mail would now leave for the Internet, to whoever receives
    for the domain next (or bounce). Refused, naming the alias."""
    try:
        with open(_snapshot_path(), encoding="utf-8") as fh:
            before = set(json.load(fh)["accounts"]["domains"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    removed = before - set(accounts["domains"])
    for source, dests in sorted(accounts["aliases"].items()):
        for dest in dests:
            domain = dest.rpartition("@")[2]
            if domain in removed:
                raise PillarError(
                    f"aliases:{source}",
                    f"destination {dest} is in {domain}, which this host no longer receives "
                    "for: its mail would leave for the Internet; change the alias first",
                )


def current():
    """
    The model in force: in a state run, the one this run's states read; from the command
    line, the snapshot the last highstate wrote (``/etc/mailserver/settings.json``). It
    holds no secret. Functions called from the command line read their settings here.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver.current
    """
    model = __context__.get(_CURRENT)
    if model is not None:
        return model
    path = _snapshot_path()
    try:
        mtime = os.stat(path).st_mtime_ns
        cached = __context__.get(_SNAPSHOT)
        if cached is None or cached[0] != mtime:
            with open(path, encoding="utf-8") as fh:
                cached = __context__[_SNAPSHOT] = (mtime, json.load(fh))
        return cached[1]
    except FileNotFoundError:
        raise CommandExecutionError(
            f"no settings on this host yet ({path}): the highstate writes them "
            "(salt-call state.apply)"
        ) from None


def _snapshot_path():
    """Where the highstate writes the model (``mailserver_settings_file`` in the minion's
    configuration moves it, for tests)."""
    return __opts__.get("mailserver_settings_file", SNAPSHOT)


def _served_defaults():
    text = __salt__["cp.get_file_str"](DEFAULTS_URL)
    if not text:
        raise CommandExecutionError(f"{DEFAULTS_URL} is not served to this minion")
    return yaml.safe_load(text)["values"]


def _check_requirements():
    """Name the libraries Salt's Python lacks, and how to install them, before a module
    that needs one fails in a less helpful way."""
    missing = []
    for module, package in REQUIREMENTS.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        every = " ".join(dict.fromkeys(REQUIREMENTS.values()))
        raise CommandExecutionError(
            f"Salt's Python on this minion ({sys.executable}) lacks "
            f"{', '.join(missing)}, which the mailserver formula needs. Install "
            f"{'it' if len(missing) == 1 else 'them'} into Salt's Python: "
            f"salt-pip install {every}   (Salt's onedir packages), or "
            f"{sys.executable} -m pip install {every}"
        )


def _build(defaults, pillar):
    """(model, accounts): the checked model, and the accounts with their password hashes
    (kept apart: the model holds no secret)."""
    out = _merge(defaults, pillar)
    _check_types(out)
    _check_host(out)
    _check_packages(out)
    _check_tls(out)
    _check_admin(out)
    _check_firewall(out)
    _check_chrony(out)
    _check_store(out)
    _check_bind(out["dns"])
    _check_dovecot(out)
    _check_spam(out)
    _check_webmail(out)
    _check_backup(out)
    given = {k: out.pop(k) or ({} if k != "domains" else []) for k in ("domains", "mailboxes")}
    given["aliases"] = out.pop("aliases") or {}
    try:
        accounts = __salt__["mailserver_accounts.validate"](given)
    except SaltInvocationError as exc:  # one error class for a bad pillar
        if not hasattr(exc, "key"):
            raise
        raise PillarError(exc.key, exc.reason) from None
    out["accounts"] = {
        "domains": accounts["domains"],
        "mailboxes": len(accounts["mailboxes"]),
        "aliases": len(accounts["aliases"]),
    }
    _derive_dns(out)
    _derive_cluster(out)
    _derive_tls(out)
    _derive_services(out)
    _check_fail2ban(out)
    _derive_store(out)
    _derive_dovecot(out)
    _derive_webmail(out)
    _derive_guard(out, accounts)
    _derive_backup(out)
    out["ssh"]["allow"] = [out["admin"]["name"], *out["ssh"]["allow_users"]]
    out["snapshot_file"] = _snapshot_path()
    return out, accounts


def _merge(base, update, path=""):
    """Deep-merge ``update`` into a copy of ``base``; a key the defaults do not have is an error
    (a typo in pillar must not be silently ignored), and so is a value of another type."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        where = f"{path}:{key}" if path else str(key)
        if key not in base:
            raise PillarError(where, "unknown key (check its spelling against pillar.example)")
        default = base[key]
        if default is None:  # free-form: checked by its own validator
            out[key] = copy.deepcopy(value)
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise PillarError(where, f"must be a mapping, not {type(value).__name__}")
            out[key] = _merge(default, value, where)
        else:
            _same_type(where, default, value)
            out[key] = copy.deepcopy(value)
    return out


def _same_type(where, default, value):
    # bool is an int to Python, never to us: `smtp: true` is not port 1
    want = type(default)
    strict = want is bool or isinstance(value, bool)
    if want is float and type(value) is int:  # a whole number is a fine score
        return
    if not (type(value) is want if strict else isinstance(value, want)):
        raise PillarError(where, f"must be {want.__name__}, not {type(value).__name__}")


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


def _address(key, value, version=None):
    try:
        ok = version is None or ipaddress.ip_address(value).version == version
    except ValueError:
        ok = False
    if not ok:
        kind = f"an ipv{version}" if version else "an IP"
        raise PillarError(key, f"{value!r} is not {kind} address")


def _check_types(out):
    """Lists hold what they must (their element type is not in the defaults)."""
    for key, value, kind in (
        ("ssh:allow_users", out["ssh"]["allow_users"], str),
        ("tls:acme:names", out["tls"]["acme"]["names"], str),
        ("fail2ban:ignoreip", out["fail2ban"]["ignoreip"], str),
        ("store:dependents", out["store"]["dependents"], str),
    ):
        bad = [v for v in value if not isinstance(v, kind)]
        if bad:
            raise PillarError(key, f"{bad[0]!r} is not a {kind.__name__}")
    for name, port in out["ports"].items():
        if not 0 < port < 65536:
            raise PillarError(f"ports:{name}", f"{port!r} is not a port number")
    clashes = {}
    for name, port in [("ssh", out["ssh"]["port"]), *out["ports"].items()]:
        if port in clashes:
            raise PillarError(f"ports:{name}", f"port {port} is already {clashes[port]}'s")
        clashes[port] = name
    # the daemons on the loopback share it with the public services
    local = [
        ("dkim:port", out["dkim"]["port"]),
        ("dmarc:port", out["dmarc"]["port"]),
        *((f"rspamd:{k}", v) for k, v in out["rspamd"].items() if k.endswith("_port")),
        *((f"{k}:port", out[k]["port"]) for k in ("redis", "postgrey", "postfwd")),
    ]
    for key, port in local:
        if not 0 < port < 65536:
            raise PillarError(key, f"{port!r} is not a port number")
        if port in clashes:
            raise PillarError(key, f"port {port} is already {clashes[port]}'s")
        clashes[port] = key.replace(":port", "")


def _check_host(out):
    if not out["hostname"]:
        out["hostname"] = __grains__.get("fqdn", "")
    if not is_hostname(out["hostname"]):
        raise PillarError("hostname", f"{out['hostname']!r} is not a fully qualified host name")
    out["hostname"] = out["hostname"].lower().rstrip(".")
    if not out["mailname"]:
        out["mailname"] = out["hostname"].split(".", 1)[1]
    if not is_hostname(out["mailname"]):
        raise PillarError("mailname", f"{out['mailname']!r} is not a domain name")
    out["mailname"] = out["mailname"].lower().rstrip(".")


def _check_packages(tree, path=""):
    """Every package list (``...:pkgs``, and the store's per backend) names packages."""
    for key, value in tree.items():
        where = f"{path}:{key}" if path else key
        if isinstance(value, dict):
            _check_packages(value, where)
        elif (where.endswith("pkgs") or ":pkgs:" in where) and not (
            isinstance(value, list) and all(isinstance(p, str) and p for p in value)
        ):
            raise PillarError(where, "must be a list of package names")


def _check_tls(out):
    tls = out["tls"]
    if bool(tls["certificate"]) != bool(tls["private_key"]):
        raise PillarError("tls", "give both certificate and private_key, or neither")
    if tls["certificate"] and "-----BEGIN CERTIFICATE-----" not in tls["certificate"]:
        raise PillarError("tls:certificate", "must be PEM (-----BEGIN CERTIFICATE-----)")
    if tls["private_key"] and "PRIVATE KEY-----" not in tls["private_key"]:
        raise PillarError("tls:private_key", "must be PEM (-----BEGIN PRIVATE KEY-----)")
    acme = tls["acme"]
    if acme["enabled"] and tls["certificate"]:
        raise PillarError("tls:acme:enabled", "a certificate is given in pillar: one or the other")
    if acme["enabled"] and not acme["server"].startswith("https://"):
        raise PillarError("tls:acme:server", f"{acme['server']!r} is not an https:// URL")
    bad = [n for n in acme["names"] if not is_hostname(n)]
    if bad:
        raise PillarError("tls:acme:names", f"{bad[0]!r} is not a host name")
    if acme["ca_bundle"] and "-----BEGIN CERTIFICATE-----" not in acme["ca_bundle"]:
        raise PillarError("tls:acme:ca_bundle", "must be PEM (-----BEGIN CERTIFICATE-----)")
    # the model keeps where the certificate comes from, never the PEM text (the key is a
    # secret; the file state reads both from pillar itself)
    tls["source"] = "pillar" if tls["certificate"] else "acme" if acme["enabled"] else "self-signed"
    tls["certificate"] = tls["private_key"] = ""


def _check_admin(out):
    admin = out["admin"]
    if not _LOGIN.match(admin["name"]) or admin["name"] == "root":
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


def _check_firewall(out):
    """The firewall's extra rules and the host's public addresses."""
    for i, rule in enumerate(out["firewall"]["allow"]):
        key = f"firewall:allow:{i}"
        if not isinstance(rule, dict) or set(rule) - {"port", "proto", "from"}:
            raise PillarError(key, "must be a mapping of port, proto (tcp/udp) and from")
        port = rule.get("port")
        if type(port) is not int or not 0 < port < 65536:
            raise PillarError(f"{key}:port", f"{port!r} is not a port number")
        if rule.get("proto", "tcp") not in ("tcp", "udp"):
            raise PillarError(f"{key}:proto", f"{rule['proto']!r} is not tcp or udp")
        if rule.get("from", "any") != "any" and not _network(rule["from"]):
            raise PillarError(f"{key}:from", f"{rule['from']!r} is not an address or network")
    for family, version in (("ipv4", 4), ("ipv6", 6)):
        for value in out["dns"]["addresses"][family]:
            _address(f"dns:addresses:{family}", str(value), version)


def _check_fail2ban(out):
    f2b = out["fail2ban"]
    for value in f2b["ignoreip"]:
        if not _network(value):
            raise PillarError("fail2ban:ignoreip", f"{value!r} is not an address or network")
    port_of = {s["name"]: s["port"] for s in out["services"]}
    for name, jail in f2b["jails"].items():
        unknown = [p for p in jail["ports"] if p not in port_of]
        if unknown:
            raise PillarError(
                f"fail2ban:jails:{name}:ports",
                f"{unknown[0]!r} is not ssh or a name from ports ({', '.join(sorted(port_of))})",
            )
        # what a ban closes: the ports of those services
        jail["closes"] = ",".join(str(port_of[p]) for p in jail["ports"])


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


def _check_chrony(out):
    chrony = out["chrony"]
    if chrony["clock_control"] is None:
        chrony["clock_control"] = can_set_clock()
    elif not isinstance(chrony["clock_control"], bool):
        raise PillarError("chrony:clock_control", "must be true, false or null (detect)")
    sources = [*chrony["servers"], *chrony["pools"]]
    if not sources or not all(isinstance(h, str) and _HOST.match(h) for h in sources):
        raise PillarError("chrony", "servers and pools: at least one host name or address")


def _inside(path, parent):
    return os.path.normpath(path).startswith(os.path.normpath(parent).rstrip("/") + "/")


def _check_store(out):
    store = out["store"]
    if store["backend"] not in store["pkgs"]:
        raise PillarError(
            "store:backend",
            f"{store['backend']!r} is not one of " + ", ".join(sorted(store["pkgs"])),
        )
    if store["backend"] == "gocryptfs" and str(__grains__.get("osmajorrelease")) == "12":
        # measured by make bench (docs/performance.md): Dovecot's deliveries and IMAP
        # sessions failed with EPERM while several ran at once
        raise PillarError(
            "store:backend",
            "gocryptfs 2.3 in Debian 12, mounted by root for several users (-allow_other), "
            "fails file operations with 'Operation not permitted' when they come at once "
            "(gocryptfs issues 892 and 893, fixed in 2.5.2): use encfs",
        )
    for key in ("cipher_dir", "mount_point", "mail_root"):
        if not store[key].startswith("/") or store[key].rstrip("/") == "":
            raise PillarError(f"store:{key}", f"{store[key]!r} is not an absolute path")
    cipher, mount = store["cipher_dir"], store["mount_point"]
    if cipher.rstrip("/") == mount.rstrip("/") or _inside(cipher, mount) or _inside(mount, cipher):
        raise PillarError("store:mount_point", "the cipher directory and the mount point "
                          "must not be the same or inside each other")  # fmt: skip
    if not _inside(store["mail_root"], mount):
        raise PillarError("store:mail_root", f"must be inside the store ({mount})")
    bad = [u for u in store["dependents"] if not _UNIT.match(u)]
    if bad:
        raise PillarError("store:dependents", f"{bad[0]!r} is not a systemd unit name")


def _check_bind(dns):
    """The resolver's root hints and trust anchors, the authoritative server's secondaries,
    MTA-STS and TLS-RPT."""
    for i, addr in enumerate(dns["resolver"]["root_hints"]):
        _address(f"dns:resolver:root_hints:{i}", str(addr))
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
        _address(f"{key}:address", str(sec["address"]))
        sec["name"] = sec["name"].lower().rstrip(".")
    timers = auth["soa_timers"]
    if len(timers) != 4 or not all(type(t) is int and t > 0 for t in timers):
        raise PillarError("dns:authoritative:soa_timers", "must be 4 positive numbers of seconds")
    if auth["rate_limit"] < 0:
        raise PillarError("dns:authoritative:rate_limit", "must be a number >= 0 (0: no limit)")
    if not 0 < dns["ttl"] <= 604800:
        raise PillarError("dns:ttl", f"{dns['ttl']} is not 1..604800 seconds")
    sts = dns["mta_sts"]
    if sts["mode"] not in ("", "enforce", "testing", "none"):
        raise PillarError("dns:mta_sts:mode", f"{sts['mode']!r} is not enforce, testing or none")
    # RFC 8461 3.2: at most 31557600 s; less than a day defeats the policy's purpose
    if not 86400 <= sts["max_age"] <= 31557600:
        raise PillarError("dns:mta_sts:max_age", f"{sts['max_age']!r} is not 86400..31557600 s")
    rua = dns["tlsrpt_rua"]
    if rua and not re.match(r"^(mailto:[^@\s,;!]+@[^@\s,;!]+|https://[^\s,;!]+)$", rua):
        raise PillarError("dns:tlsrpt_rua", f"{rua!r} is not a mailto: or https:// URI")
    for key in ("spf", "dmarc"):
        prefix = {"spf": "v=spf1", "dmarc": "v=DMARC1;"}[key]
        if not dns[key].startswith(prefix):
            raise PillarError(f"dns:{key}", f"{dns[key]!r} does not start with {prefix}")


def _check_dovecot(out):
    waiting = out["dovecot"]["imap_logins_waiting"]
    if not 0 <= waiting <= LOGIN_PROCESS_LIMIT:
        raise PillarError(
            "dovecot:imap_logins_waiting",
            f"{waiting} is not 0..{LOGIN_PROCESS_LIMIT} (Dovecot's limit of login processes)",
        )
    partial = out["dovecot"]["fts"]["partial"]
    if not 3 <= partial <= 20:
        raise PillarError("dovecot:fts:partial", f"{partial} is not 3..20 characters")


_BORG_REPO = re.compile(
    r"^ssh://(?P<user>[a-z_][a-z0-9_.-]{0,31})@(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?/(?P<path>[A-Za-z0-9._/~-]+)$"
)
_HOST_KEY = re.compile(r"^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+=*$")
_EVERY = re.compile(r"^[1-9][0-9]{0,3} (hour|day|week|month|year)s?$")
_SYSTEMD_TIME = re.compile(r"^[A-Za-z0-9 :*/,.~-]+$")


def _check_backup(out):
    """A repository over SSH and the target's host key when backups are on; sane retention."""
    backup = out["backup"]
    for period, count in backup["keep"].items():
        if not 0 <= count <= 1000:
            raise PillarError(f"backup:keep:{period}", f"{count} is not 0..1000 archives")
    if not any(backup["keep"].values()):
        raise PillarError("backup:keep", "keeps no archive at all: at least one must be above 0")
    if not _EVERY.match(backup["check_every"]):
        raise PillarError(
            "backup:check_every", f"{backup['check_every']!r} is not like '1 week' or '3 days'"
        )
    if not 0 < backup["max_age_hours"] <= 24 * 31:
        raise PillarError("backup:max_age_hours", f"{backup['max_age_hours']} is not 1..744")
    for key in ("schedule", "random_delay"):
        if not _SYSTEMD_TIME.match(backup[key]):
            raise PillarError(f"backup:{key}", f"{backup[key]!r} is not a systemd time expression")
    if not backup["enabled"]:
        return
    repo = _BORG_REPO.match(backup["repository"])
    if not repo:
        raise PillarError(
            "backup:repository",
            f"{backup['repository']!r} is not ssh://USER@HOST[:PORT]/PATH",
        )
    if repo["port"] and not 0 < int(repo["port"]) < 65536:
        raise PillarError("backup:repository", f"{repo['port']} is not a port number")
    if not _HOST_KEY.match(backup["host_key"].strip()):
        raise PillarError(
            "backup:host_key",
            "must be the target's SSH host key as in known_hosts, without the host name "
            "(ssh-ed25519 AAAA...): the target is verified, never trusted on first use",
        )


def _check_spam(out):
    """rspamd's thresholds, Postgrey's delay and lists, postfwd's limits."""
    rspamd = out["rspamd"]
    if not 0 < rspamd["add_header"] < rspamd["reject"]:
        raise PillarError(
            "rspamd:add_header", f"must be above 0 and below rspamd:reject ({rspamd['reject']})"
        )
    if rspamd["bayes"] not in ("global", "per_user"):
        raise PillarError("rspamd:bayes", f"{rspamd['bayes']!r} is not global or per_user")
    grey = out["postgrey"]
    if not 1 <= grey["delay"] <= 86400:
        raise PillarError("postgrey:delay", f"{grey['delay']} is not 1..86400 seconds")
    for i, client in enumerate(grey["whitelist_clients"]):
        if not isinstance(client, str) or not (_network(client) or is_hostname(client)):
            raise PillarError(
                f"postgrey:whitelist_clients:{i}", f"{client!r} is not an address, network or host"
            )
    for i, rcpt in enumerate(grey["whitelist_recipients"]):
        local, _, domain = str(rcpt).rpartition("@")
        if not isinstance(rcpt, str) or not (is_hostname(domain) or (local and not domain)):
            raise PillarError(
                f"postgrey:whitelist_recipients:{i}",
                f"{rcpt!r} is not user@domain, user@ or a domain",
            )
    limits = out["postfwd"]
    for soft in ("messages_per_hour", "recipients_per_day"):
        if limits[soft] < 1:
            raise PillarError(f"postfwd:{soft}", f"{limits[soft]} is not a number above 0")
        if limits[f"hard_{soft}"] <= limits[soft]:
            raise PillarError(
                f"postfwd:hard_{soft}", f"must be above postfwd:{soft} ({limits[soft]})"
            )


def _check_webmail(out):
    """Roundcube's name, languages, plugins and session lifetime."""
    web = out["webmail"]
    if web["name"] and not is_hostname(web["name"]):
        raise PillarError("webmail:name", f"{web['name']!r} is not a host name")
    if web["enabled"] and not web["languages"]:
        raise PillarError("webmail:languages", "name at least one language (en)")
    for i, lang in enumerate(web["languages"]):
        if not isinstance(lang, str) or not re.match(r"^[a-z]{2,3}(_[A-Z]{2})?$", lang):
            raise PillarError(
                f"webmail:languages:{i}", f"{lang!r} is not a language code such as en or pt_BR"
            )
    for i, plugin in enumerate(web["plugins"]):
        if not isinstance(plugin, str) or not re.match(r"^[a-z][a-z0-9_]*$", plugin):
            raise PillarError(f"webmail:plugins:{i}", f"{plugin!r} is not a plugin's name")
    if not 1 <= web["session_lifetime"] <= 1440:
        raise PillarError(
            "webmail:session_lifetime", f"{web['session_lifetime']} is not 1..1440 minutes"
        )
    for i, directive in enumerate(web["content_security_policy"]):
        # one directive each, inside nginx's double quotes
        if not isinstance(directive, str) or re.search(r'[\x00-\x1f";\\]', directive):
            raise PillarError(
                f"webmail:content_security_policy:{i}",
                "must not hold double quotes, semicolons or control characters",
            )
    for key, text in (
        ("webmail:product_name", web["product_name"]),
        ("autoconfig:display_name", out["autoconfig"]["display_name"]),
    ):
        if re.search(r"[\x00-\x1f'\"\\<>&]", text):
            raise PillarError(
                key, "must not hold quotes, backslashes, <, >, & or control characters"
            )


# --- derived facts ----------------------------------------------------------------------------


def _host_addresses(given, family):
    """The addresses pillar gives, or every address of the host that is not loopback,
    link-local, multicast or unspecified."""
    if given:
        return [str(ipaddress.ip_address(a)) for a in given]
    found = []
    for text in __grains__.get(family, []):
        ip = ipaddress.ip_address(text)
        if not (ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified):
            found.append(str(ip))
    return sorted(found)


def _derive_dns(out):
    """The host's addresses, who its programs ask, the zones it serves, MTA-STS."""
    dns, domains = out["dns"], out["accounts"]["domains"]
    dns["addresses"] = {f: _host_addresses(dns["addresses"][f], f) for f in ("ipv4", "ipv6")}
    every = dns["addresses"]["ipv4"] + dns["addresses"]["ipv6"]
    # who the host's own programs ask: its BIND, or the resolvers it was given
    if dns["resolver"]["enabled"]:
        dns["nameservers"] = ["127.0.0.1", "::1"]
    else:
        dns["nameservers"] = [
            ns
            for ns in __grains__.get("dns", {}).get("nameservers", [])
            if not ipaddress.ip_address(ns).is_loopback
        ]
    auth = dns["authoritative"]
    zones = []
    if auth["enabled"]:
        zones = list(domains)
        if auth["reverse"]:
            zones += [ipaddress.ip_address(a).reverse_pointer for a in every]
    dns["zones"] = zones
    dns["bind"]["enabled"] = dns["resolver"]["enabled"] or bool(zones)
    dns["nameservers_of_zones"] = [out["hostname"], *(s["name"] for s in auth["secondaries"])]
    # BIND's built-in empty zones that hold one of the host's addresses or of the root hints
    # (a host on private or documentation addresses): looked up, not answered NXDOMAIN
    names = [ipaddress.ip_address(a).reverse_pointer for a in every + dns["resolver"]["root_hints"]]
    dns["bind"]["empty_zones"] = sorted(
        {z for z in _EMPTY_ZONES for n in names if n.endswith("." + z)}
    )
    sts = dns["mta_sts"]
    if not sts["mode"]:
        trusted = out["tls"]["source"] != "self-signed"
        sts["mode"] = "enforce" if trusted else "testing"
    sts["names"] = [f"mta-sts.{d}" for d in domains]
    # the names mail clients look up to set themselves up (Thunderbird, Outlook)
    auto = out["autoconfig"]
    auto["names"] = (
        [f"{p}.{d}" for d in domains for p in ("autoconfig", "autodiscover")]
        if auto["enabled"]
        else []
    )


ROLES = ("primary", "replica", "backup_mx")
_HOST_KEYS = ("roles", "preference", "ipv4", "ipv6")


def _cluster_host(name, host, me, own):
    """One host of ``cluster:hosts``, checked: its name, roles, MX preference and addresses
    (this host's default to its own; another host's must be given and not be this one's)."""
    key = f"cluster:hosts:{name}"
    if not is_hostname(name):
        raise PillarError("cluster:hosts", f"{name!r} is not a fully qualified host name")
    name = name.lower().rstrip(".")
    if not isinstance(host, dict):
        raise PillarError(key, f"must be a mapping, not {type(host).__name__}")
    for k in host:
        if k not in _HOST_KEYS:
            raise PillarError(f"{key}:{k}", f"unknown key (one of {', '.join(_HOST_KEYS)})")
    roles = host.get("roles")
    if not isinstance(roles, list) or not roles:
        raise PillarError(f"{key}:roles", f"a list of one or more of {', '.join(ROLES)}")
    for role in roles:
        if role not in ROLES:
            raise PillarError(f"{key}:roles", f"{role!r} is not one of {', '.join(ROLES)}")
    if "primary" in roles and len(roles) > 1:
        raise PillarError(f"{key}:roles", "the primary has no other role")
    preference = host.get("preference", 10 if "primary" in roles else 20)
    if type(preference) is not int or not 0 <= preference <= 65535:
        raise PillarError(f"{key}:preference", f"{preference!r} is not 0..65535")
    addresses = {}
    for family, version in (("ipv4", 4), ("ipv6", 6)):
        listed = host.get(family, [])
        if not isinstance(listed, list):
            raise PillarError(f"{key}:{family}", f"must be list, not {type(listed).__name__}")
        for i, value in enumerate(listed):
            _address(f"{key}:{family}:{i}", value, version)
        addresses[family] = [str(ipaddress.ip_address(a)) for a in listed]
    checked = {"name": name, "roles": sorted(roles), "preference": preference}
    if name == me:
        return {**checked, **{f: addresses[f] or own[f] for f in addresses}}
    listed = addresses["ipv4"] + addresses["ipv6"]
    if not listed:
        raise PillarError(key, "another host needs its addresses (ipv4, ipv6)")
    for a in listed:  # the same pillar on a host whose own name was not set apart
        if a in own["ipv4"] + own["ipv6"]:
            raise PillarError(
                key, f"{a} is this host's own address, and this host is {me}: "
                "is hostname right here (each host its own name)?"
            )  # fmt: skip
    return {**checked, **addresses}


def _derive_cluster(out):
    """Every mail host of the domains with its roles, MX preference and addresses, sorted
    as senders try them; this host's roles. One host when pillar names none."""
    given, me = out["cluster"]["hosts"], out["hostname"]
    own = out["dns"]["addresses"]
    if given is not None and not isinstance(given, dict):
        raise PillarError("cluster:hosts", f"must be a mapping, not {type(given).__name__}")
    if not given:
        given = {me: {"roles": ["primary"]}}
    hosts = [_cluster_host(name, host, me, own) for name, host in given.items()]
    names = [h["name"] for h in hosts]
    if len(set(names)) != len(names):
        raise PillarError("cluster:hosts", "a host is named twice")
    if me not in names:
        raise PillarError("cluster:hosts", f"this host, {me}, is not one of them")
    for role, least in (("primary", 1), ("replica", 0)):
        count = sum(role in h["roles"] for h in hosts)
        if not least <= count <= 1:
            raise PillarError("cluster:hosts", f"{count} hosts are {role} (one is)"
                              if least else f"{count} hosts are {role} (one at most)")  # fmt: skip
    hosts.sort(key=lambda h: (h["preference"], h["name"]))
    this = next(h for h in hosts if h["name"] == me)
    primary = next(h["name"] for h in hosts if "primary" in h["roles"])
    others = [h for h in hosts if h["name"] != me]
    out["cluster"] = {
        "hosts": hosts,
        "roles": this["roles"],
        "primary": primary,
        "replica": next((h["name"] for h in hosts if "replica" in h["roles"]), ""),
        # the MX hosts: the primary and the backup MXes, as senders try them
        "mx": [h for h in hosts if {"primary", "backup_mx"} & set(h["roles"])],
        # every other host: the primary delivers, the others hand mail over to it
        "relay_to": "" if me == primary else primary,
        # the other hosts' addresses: mail they hand over was judged there by the same
        # checks (no milters, no greylisting again here), and they are never banned
        "peers": [a for h in others for a in h["ipv4"] + h["ipv6"]],
    }
    out["fail2ban"]["ignoreip"] = [*out["fail2ban"]["ignoreip"], *out["cluster"]["peers"]]
    # mailbox replication: the primary and the replica are each other's partner; doveadm's
    # port is open to the partner alone
    replica = out["cluster"]["replica"]
    partner = {primary: replica, replica: primary}.get(me, "") if replica else ""
    out["cluster"]["partner"] = partner
    if partner:
        other = next(h for h in hosts if h["name"] == partner)
        port = out["dovecot"]["replication"]["port"]
        out["firewall"]["allow"] = [
            *out["firewall"]["allow"],
            *({"port": port, "proto": "tcp", "from": a} for a in other["ipv4"] + other["ipv6"]),
        ]
    # a key made on another host gets a selector of its own (two hosts making this month's
    # key would publish two different keys under one name)
    label = me.split(".", 1)[0]
    out["dkim"]["selector_prefix"] = "" if me == primary else f"{label}-"
    # the policy every mail domain serves: every MX host, or enforcing senders refuse the
    # others; LF-separated (RFC 8461's grammar allows LF beside CRLF); its id changes
    # whenever the policy does
    sts = out["dns"]["mta_sts"]
    mx = "".join(
        f"mx: {h['name']}\n" for h in sorted(out["cluster"]["mx"], key=lambda h: h["name"])
    )
    sts["policy"] = f"version: STSv1\nmode: {sts['mode']}\n{mx}max_age: {sts['max_age']}\n"
    sts["id"] = hashlib.sha256(sts["policy"].encode()).hexdigest()[:20]


def _derive_tls(out):
    """Every name the certificate covers: the host, the MTA-STS names, the admin's extras."""
    tls = out["tls"]
    web = out["webmail"]
    web["name"] = (web["name"] or out["hostname"]).lower().rstrip(".")
    names = [
        out["hostname"],
        *([web["name"]] if web["enabled"] else []),
        *out["dns"]["mta_sts"]["names"],
        *out["autoconfig"]["names"],
        *tls["acme"]["names"],
    ]
    tls["names"] = list(dict.fromkeys(n.lower().rstrip(".") for n in names))
    # what the host's own clients (webmail, upgrade guard) verify its services against on the
    # loopback: the certificate itself when it is self-signed, the system's CAs otherwise
    self_signed = tls["source"] == "self-signed"
    tls["loopback_ca_file"] = (
        tls["cert_file"] if self_signed else "/etc/ssl/certs/ca-certificates.crt"
    )
    # what reads the certificate, reloaded after a renewal
    tls["reload"] = [out["postfix"]["unit"], out["dovecot"]["service"], out["web"]["service"]]


def _derive_services(out):
    """The public services: what the firewall opens, fail2ban closes and the status check
    probes. ``probe``: something answers there all the time (ACME's port 80 only while
    certbot validates)."""
    services = [{"name": "ssh", "port": out["ssh"]["port"], "proto": "tcp", "probe": True}]
    services += [
        {"name": name, "port": port, "proto": "tcp", "probe": True}
        for name, port in out["ports"].items()
    ]
    acme = out["tls"]["acme"]
    if acme["enabled"]:  # HTTP-01 validation of the certificate
        services.append(
            {"name": "acme-http", "port": acme["http_port"], "proto": "tcp", "probe": False}
        )
    if out["dns"]["zones"]:  # the zones answer the world
        port = out["dns"]["bind"]["port"]
        services += [
            {"name": "dns", "port": port, "proto": proto, "probe": True} for proto in ("udp", "tcp")
        ]
    out["services"] = sorted(services, key=lambda s: (s["port"], s["proto"]))


def _derive_backup(out):
    """What a backup holds and leaves out: the store's ciphertext (never the plaintext mount
    point), the keys, certificates and secrets made on the host, the settings snapshot (under
    /etc/mailserver), the DKIM and DNSSEC keys; the accounts database is dumped into it by
    borgmatic. The target's address and port, for known_hosts and the status check."""
    backup, store = out["backup"], out["store"]
    sources = [
        store["cipher_dir"],
        os.path.dirname(SNAPSHOT),
        out["dkim"]["key_dir"],
        out["dns"]["bind"]["zone_dir"],
        *(["/etc/letsencrypt"] if out["tls"]["acme"]["enabled"] else []),
    ]
    backup["sources"] = sorted(set(sources))
    # the plaintext, and the backups' own key and passphrase (the admin keeps them offline)
    backup["excludes"] = [store["mount_point"], backup["dir"]]
    backup["database"] = out["mariadb"]["database"]
    # what reads the restored keys and certificates, restarted after a restore (those that
    # use the store start after its unlock)
    backup["restart_after_restore"] = list(
        dict.fromkeys(
            [
                *out["tls"]["reload"],
                out["dkim"]["service"],
                *([out["dns"]["bind"]["service"]] if out["dns"]["zones"] else []),
            ]
        )
    )
    repo = _BORG_REPO.match(backup["repository"]) if backup["enabled"] else None
    target = backup["target"] = (
        {
            "host": repo["host"].strip("[]"),
            "port": int(repo["port"] or 22),
            "user": repo["user"],
            # as borg serve sees it: ssh://h/./x and ssh://h/~/x are x in the user's home,
            # ssh://h/srv/x is /srv/x
            "path": (repo["path"][2:] if repo["path"][:2] in ("./", "~/") else "/" + repo["path"]),
        }
        if repo
        else None
    )
    # the target's host key, pinned (known_hosts: "[host]:port" unless on port 22)
    backup["known_hosts"] = ""
    if target:
        where = target["host"] if target["port"] == 22 else f"[{target['host']}]:{target['port']}"
        backup["known_hosts"] = f"{where} {backup['host_key'].strip()}\n"
    backup["passphrase_file"] = f"{backup['dir']}/passphrase"
    backup["ssh_key_file"] = f"{backup['dir']}/id_ed25519"
    backup["known_hosts_file"] = f"{backup['dir']}/known_hosts"
    # the target verified against the pinned key only; never a prompt, never another key
    backup["ssh_command"] = " ".join(
        [
            f"ssh -i {backup['ssh_key_file']} -o IdentitiesOnly=yes -o BatchMode=yes",
            f"-o UserKnownHostsFile={backup['known_hosts_file']} -o StrictHostKeyChecking=yes",
            "-o ServerAliveInterval=30 -o ConnectTimeout=30",
        ]
    )


def _derive_dovecot(out):
    """Dovecot's packages with full-text search's plugin when it is on."""
    dovecot = out["dovecot"]
    if dovecot["fts"]["enabled"]:
        dovecot["pkgs"] = list(dict.fromkeys([*dovecot["pkgs"], *dovecot["fts"]["pkgs"]]))


def _mount_unit(path):
    """The name of systemd's mount unit for ``path`` (``systemd-escape --path --suffix=mount``):
    ``/mail/decrypted-mail`` is ``mail-decrypted\\x2dmail.mount``."""

    kept = string.ascii_letters + string.digits + ":_."

    def escape(part):  # byte by byte (UTF-8), as systemd does
        return "".join(
            c if c in kept else f"\\x{ord(c):02x}" for c in part.encode().decode("latin-1")
        )

    name = "-".join(escape(p) for p in path.split("/") if p)
    if name.startswith("."):
        name = "\\x2e" + name[1:]
    return (name or "-") + ".mount"


def _derive_store(out):
    """The mailbox layout (one pattern, read by Dovecot and by the accounts module) and what
    the unlock makes inside the store."""
    store, vmail = out["store"], out["vmail"]
    root = store["mail_root"].rstrip("/")
    store["mailbox_dir"] = root + "/{domain}/{local}"
    store["removed_dir"] = root + "/.removed"
    # Dovecot's view: the mailbox (mail, Sieve scripts, their log) inside the store; the
    # user's home, which holds only locks and the delivery's duplicate list, on tmpfs beside
    # the index locks: both are made with link(), which EncFS in paranoia mode refuses
    # (replication's per-user lock, ~/.dovecot-sync.lock, among them)
    dovecot = out["dovecot"]
    dovecot["mailbox"] = store["mailbox_dir"].format(domain="%d", local="%n")
    dovecot["home"] = dovecot["volatile_dir"].rstrip("/") + "/%d/%n"
    # what else keeps personal data (Bayes tokens, fuzzy hashes, greylist triplets, senders'
    # counters) lives inside the store too
    mount = store["mount_point"].rstrip("/")
    # the mount's unit, which systemd makes while the store is mounted: the store's services
    # are ordered after it, so a shutdown stops them before it unmounts the store
    store["mount_unit"] = _mount_unit(mount)
    out["redis"]["dir"] = f"{mount}/redis"
    out["postgrey"]["dbdir"] = f"{mount}/postgrey"
    out["postfwd"]["dir"] = f"{mount}/postfwd"
    store["subdirs"] = [
        {
            "path": os.path.relpath(root, store["mount_point"]),
            "uid": vmail["uid"],
            "gid": vmail["gid"],
            "mode": "0750",
        },
        # each daemon's own directory, made at every unlock once its user exists
        *(
            {"path": os.path.basename(out[name][key]), "user": out[name]["user"], "mode": "0750"}
            for name, key in (("redis", "dir"), ("postgrey", "dbdir"), ("postfwd", "dir"))
        ),
    ]


def _derive_webmail(out):
    """Roundcube's data inside the store, what it trusts for TLS to the host's own services,
    its upload limit, its dictionaries."""
    web = out["webmail"]
    mount = out["store"]["mount_point"].rstrip("/")
    web["data_dir"] = f"{mount}/roundcube"
    web["db_file"] = f"{web['data_dir']}/roundcube.db"
    web["temp_dir"] = f"{web['data_dir']}/temp"
    out["store"]["subdirs"].append(
        {"path": "roundcube", "user": web["user"], "mode": "0750"},
    )
    # IMAP, submission and ManageSieve are reached on the loopback under the certificate's
    # name: verified against the certificate itself when it is self-signed, the system's CAs
    # otherwise
    web["ca_file"] = out["tls"]["loopback_ca_file"]
    # an attachment grows by a third in base64: what fits into Postfix's size limit
    web["upload_max_bytes"] = out["postfix"]["message_size_limit"] * 72 // 100
    # Debian's PHP-FPM of version X.Y: service phpX.Y-fpm, program php-fpmX.Y
    web["fpm_binary"] = "php-fpm" + web["service"].removeprefix("php").removesuffix("-fpm")
    web["all_pkgs"] = [
        *web["pkgs"],
        *(f"aspell-{lang.lower().replace('_', '-')}" for lang in web["languages"]),
    ]


def _derive_guard(out, accounts):
    """The upgrade guard's probe mailbox: its reserved local part at the first mail domain
    (none without a domain); no pillar mailbox or alias may take the name."""
    guard = out["updates"]["guard"]
    local = guard["probe_local"].lower()
    if not _LABEL.match(local):
        raise PillarError("updates:guard:probe_local", f"{local!r} is not a plain local part")
    for section in ("mailboxes", "aliases"):
        for addr in accounts[section]:
            if addr.partition("@")[0] == local:
                raise PillarError(
                    f"{section}:{addr}",
                    f"the local part {local} is reserved for the upgrade guard's probe mailbox "
                    "(mailserver:updates:guard:probe_local)",
                )
    domains = accounts["domains"]
    guard["probe"] = f"{local}@{domains[0]}" if guard["enabled"] and domains else None
    guard["all_pkgs"] = guard["pkgs"] if guard["enabled"] else []
