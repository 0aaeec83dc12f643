"""
Brute-force blocking (fail2ban, the maintained successor of the guide's DenyHosts): the jail
configuration from the formula's settings, and what an admin needs day to day: who is banned,
and unbanning an address.
"""

import json
import re

from salt.exceptions import CommandExecutionError

__virtualname__ = "mailserver_fail2ban"


def __virtual__():
    return __virtualname__


def _ports(settings, names):
    ports = {"ssh": settings["ssh"]["port"], **settings["ports"]}
    return ",".join(str(ports[n]) for n in names)


def jail_config(settings):
    """
    The text of the formula's jail file: every jail reads the systemd journal (the repeat
    offenders' jail reads fail2ban's own log), bans on IPv4 and IPv6, and never bans the
    addresses in ``fail2ban:ignoreip``.

    CLI Example:

    .. code-block:: bash

        salt-call mailserver_fail2ban.jail_config "$(salt-call --out=json mailserver.settings ...)"
    """
    f2b = settings["fail2ban"]
    ignore = " ".join(["127.0.0.1/8", "::1", *f2b["ignoreip"]])
    lines = [
        "# Managed by Salt (mailserver formula): do not edit by hand.",
        "[DEFAULT]",
        f"ignoreip = {ignore}",
        "backend = systemd",
        f"maxretry = {f2b['maxretry']}",
        f"findtime = {f2b['findtime']}",
        f"bantime = {f2b['bantime']}",
        f"banaction = {f2b['banaction']}",
        f"banaction_allports = {f2b['banaction_allports']}",
        "",
    ]
    for name, jail in sorted(f2b["jails"].items()):
        lines += [
            f"[{name}]",
            "enabled = true",
            f"filter = {jail['filter']}",
            f"journalmatch = {jail['journalmatch']}",
            f"port = {_ports(settings, jail['ports'])}",
            "",
        ]
    rec = f2b["recidive"]
    lines += [
        "[recidive]",
        "enabled = true",
        "backend = polling",
        "logpath = /var/log/fail2ban.log",
        "banaction = %(banaction_allports)s",
        f"maxretry = {rec['maxretry']}",
        f"findtime = {rec['findtime']}",
        f"bantime = {rec['bantime']}",
    ]
    return "\n".join(lines) + "\n"


def _client(*args):
    ret = __salt__["cmd.run_all"](
        ["fail2ban-client", *args], python_shell=False, ignore_retcode=True
    )
    if ret["retcode"] != 0:
        raise CommandExecutionError(
            f"fail2ban-client {' '.join(args)}: {ret['stderr'] or ret['stdout']}"
        )
    return ret["stdout"]


def banned():
    """
    The banned addresses: ``{jail: [address, ...]}``.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_fail2ban.banned
    """
    text = _client("banned")
    # fail2ban prints a Python literal of plain strings: make it JSON
    data = json.loads(re.sub(r"'", '"', text))
    out = {}
    for entry in data:
        out.update(entry)
    return out


def unban(address=None, every=False):
    """
    Lift the bans of ``address`` in every jail (or every ban with ``every=True``); returns how
    many bans were lifted.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_fail2ban.unban 2001:db8::20
        salt mx1 mailserver_fail2ban.unban every=True
    """
    if every:
        return int(_client("unban", "--all").strip() or 0)
    if not address:
        raise CommandExecutionError("give an address, or every=True")
    return int(_client("unban", str(address)).strip() or 0)
