"""
Brute-force blocking (fail2ban, the maintained successor of the guide's DenyHosts): what an
admin needs day to day, who is banned and unbanning an address. The jails themselves are a
template of the ``mailserver.fail2ban`` state.
"""

import json
import re

from salt.exceptions import CommandExecutionError

__virtualname__ = "mailserver_fail2ban"


def __virtual__():
    return __virtualname__


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
