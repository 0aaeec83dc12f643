"""
The host firewall (ufw): default deny incoming on IPv4 and IPv6, exactly the public services
the formula provides allowed, and the Salt master's own connections kept.

The formula's rules carry a comment that starts with ``mailserver``; rules an admin adds by
hand (without that tag) are left alone and reported.

Why the Salt master is allowed: the minion's connections to the master exist before the
firewall does. When ufw is enabled, connection tracking starts in the middle of them, the
master's next packet counts as NEW, and ufw's default deny drops it: the enabling job would
never return and the minion would stay deaf until restarted. A rule that accepts packets
from the master's publish and return ports (to whichever port the minion uses) keeps them.
The master controls the minion anyway, so this opens nothing to anyone else.
"""

import binascii
import ipaddress
import logging
import os
import re

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "mailserver_firewall"

TAG = "mailserver"
RULE_FILES = ("/etc/ufw/user.rules", "/etc/ufw/user6.rules")
DEFAULTS_FILE = "/etc/default/ufw"
CONF_FILE = "/etc/ufw/ufw.conf"
# ufw's own policy names, as /etc/default/ufw spells them
POLICIES = {
    "DEFAULT_INPUT_POLICY": "DROP",
    "DEFAULT_OUTPUT_POLICY": "ACCEPT",
    "DEFAULT_FORWARD_POLICY": "DROP",
    "IPV6": "yes",
}
_TUPLE = re.compile(
    r"^### tuple ### (?P<action>\w+) (?P<proto>\w+) (?P<dport>\S+) (?P<dst>\S+) "
    r"(?P<sport>\S+) (?P<src>\S+) (?P<direction>in|out)(?: comment=(?P<comment>[0-9a-f]*))?"
)
_ANY = ("0.0.0.0/0", "::/0", "any")


def __virtual__():
    return __virtualname__


def _path(path):
    """``path`` under the root named by the minion's ``mailserver_root`` option ("/", the
    host's own files, unless a test points it at a scratch tree)."""
    return os.path.join(__opts__.get("mailserver_root", "/"), path.lstrip("/"))


def _rule(port, proto="tcp", src="any", sport="any", name=""):
    return {
        "action": "allow",
        "proto": proto,
        "dport": str(port),
        "src": src,
        "sport": str(sport),
        "comment": f"{TAG} {name}".strip(),
    }


def _key(rule):
    return (rule["action"], rule["proto"], rule["dport"], rule["src"], rule["sport"])


def _masters():
    """The Salt master addresses this minion talks to, with its publish and return ports."""
    addrs = __opts__.get("master_ip") or __opts__.get("master")
    addrs = addrs if isinstance(addrs, list) else [addrs]
    out = []
    for addr in addrs:
        try:
            out.append(str(ipaddress.ip_address(addr)))
        except (TypeError, ValueError):
            log.warning("mailserver_firewall: master %r is not an address, not allowed", addr)
    if __opts__.get("file_client") == "local" or __opts__.get("master_type") == "disable":
        return [], ""
    # a minion configured the usual way (only `master:`) has no publish_port in its options
    ports = sorted(
        {int(__opts__.get("publish_port") or 4505), int(__opts__.get("master_port") or 4506)}
    )
    return out, ",".join(map(str, ports))


def desired(settings=None):
    """
    The rules the formula wants, in ufw's terms: one per public service of the model (ufw
    applies a rule from ``any`` to IPv4 and IPv6 both), the Salt master's, and the extra
    rules of ``firewall:allow``.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_firewall.desired
    """
    settings = settings or __salt__["mailserver.current"]()
    rules = [_rule(s["port"], s["proto"], name=s["name"]) for s in settings["services"]]
    masters, sports = _masters()
    rules += [_rule("any", src=m, sport=sports, name="salt-master") for m in masters]
    for extra in settings["firewall"]["allow"]:
        rules.append(
            _rule(extra["port"], extra.get("proto", "tcp"), extra.get("from", "any"), name="extra")
        )
    return rules


def _read(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return ""


def rules():
    """
    The user rules ufw has (active or not): ``{"mailserver": [...], "other": [...]}``.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_firewall.rules
    """
    seen, out = set(), {"mailserver": [], "other": []}
    for path in map(_path, RULE_FILES):
        for line in _read(path).splitlines():
            m = _TUPLE.match(line)
            if not m:
                continue
            rule = m.groupdict()
            comment = binascii.unhexlify(rule.pop("comment") or "").decode("utf-8", "replace")
            rule["comment"] = comment
            rule["src"] = "any" if rule["src"] in _ANY else rule["src"]
            rule.pop("dst")
            if rule.pop("direction") != "in" or _key(rule) in seen:
                continue
            seen.add(_key(rule))
            out["mailserver" if comment.split(" ")[0] == TAG else "other"].append(rule)
    return out


def _settings_file(path):
    out = {}
    for line in _read(path).splitlines():
        m = re.match(r'^\s*([A-Z0-9_]+)\s*=\s*"?([^"#]*)"?', line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def status():
    """
    Whether ufw is enabled, its default policies, and its rules.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_firewall.status
    """
    defaults = _settings_file(_path(DEFAULTS_FILE))
    return {
        "enabled": _settings_file(_path(CONF_FILE)).get("ENABLED") == "yes",
        "active": _active(),
        "policies": {k: defaults.get(k) for k in POLICIES},
        "rules": rules(),
    }


def _active():
    if not __salt__["cmd.has_exec"]("ufw"):
        return False
    ret = __salt__["cmd.run_all"](["ufw", "status"], python_shell=False, ignore_retcode=True)
    return ret["retcode"] == 0 and "Status: active" in ret["stdout"]


def plan(settings=None):
    """
    What :py:func:`apply` would change: policies to set, rules to add and to delete, whether
    ufw is to be enabled. Empty lists and ``False`` when in force.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_firewall.plan
    """
    st = status()
    want = {_key(r): r for r in desired(settings)}
    have = {_key(r): r for r in st["rules"]["mailserver"]}
    return {
        "policies": {k: v for k, v in POLICIES.items() if st["policies"][k] != v},
        "add": [r for k, r in want.items() if k not in have],
        "delete": [r for k, r in have.items() if k not in want],
        "enable": not (st["enabled"] and st["active"]),
    }


def _spec(rule):
    args = [rule["action"], "proto", rule["proto"], "from", rule["src"]]
    if rule["sport"] != "any":
        args += ["port", rule["sport"]]
    args += ["to", "any"]
    if rule["dport"] != "any":
        args += ["port", rule["dport"]]
    return args


def _ufw(*args):
    ret = __salt__["cmd.run_all"](["ufw", *args], python_shell=False, ignore_retcode=True)
    if ret["retcode"] != 0:
        raise CommandExecutionError(f"ufw {' '.join(args)}: {ret['stderr'] or ret['stdout']}")
    return ret["stdout"]


def _set_policies(policies):
    path = _path(DEFAULTS_FILE)
    text = _read(path)
    for key, value in policies.items():
        line = f'{key}="{value}"' if key != "IPV6" else f"{key}={value}"
        text, n = re.subn(rf"(?m)^\s*{key}\s*=.*$", line, text)
        if not n:
            text += line + "\n"
    tmp = path + ".salt-tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def apply(settings=None):
    """
    Bring ufw to the formula's rules: policies first, then the allowed services (SSH and the
    Salt master before anything is denied), then tagged rules no longer wanted are deleted,
    and ufw is enabled last. Returns what changed (the same shape as :py:func:`plan`).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_firewall.apply
    """
    todo = plan(settings)
    if todo["policies"]:
        _set_policies(todo["policies"])
    for rule in todo["add"]:
        _ufw(*_spec(rule), "comment", rule["comment"])
    for rule in todo["delete"]:
        _ufw("delete", *_spec(rule))
    if todo["enable"]:
        _ufw("--force", "enable")
    elif todo["policies"]:
        _ufw("reload")
    return todo
