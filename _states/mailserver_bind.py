"""
State for a zone BIND serves for the mail domains: the zone file holds exactly the records
the host should publish, with a serial raised only when they change, and is checked with
named-checkzone before it replaces the file BIND reads.
"""

import difflib
import os

__virtualname__ = "mailserver_bind"


def __virtual__():
    if "mailserver_bind.zones" not in __salt__:
        return (False, "the mailserver_bind execution module is not available")
    return __virtualname__


def zone(name, zone_file, settings, user="bind", group="bind"):
    """
    The zone file of ``name`` holds SOA, NS and every record of the zone, computed when the
    state runs (the DKIM keys and the certificate made earlier in the run are in it).
    Reloading BIND is the service state's job (watch this state).
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    lines = __salt__["mailserver_bind.zones"](settings).get(name)
    if lines is None:
        ret["result"] = False
        ret["comment"] = f"{name} is not a zone this host serves"
        return ret
    try:
        with open(zone_file, encoding="utf-8") as fh:
            old = fh.read()
    except FileNotFoundError:
        old = ""
    old_serial = __salt__["mailserver_bind.file_serial"](old)
    if old and old == __salt__["mailserver_bind.zone_text"](name, lines, settings, old_serial):
        ret["comment"] = f"zone {name} is up to date (serial {old_serial})"
        return ret
    serial = __salt__["mailserver_bind.next_serial"](old_serial)
    text = __salt__["mailserver_bind.zone_text"](name, lines, settings, serial)
    diff = [
        line
        for line in difflib.unified_diff(old.splitlines(), text.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---") and " IN SOA " not in line
    ]
    ret["changes"] = {"serial": {"old": old_serial, "new": serial}, "records": diff}
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"zone {name} would get serial {serial}"
        return ret
    tmp = zone_file + ".new"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    check = __salt__["cmd.run_all"](
        ["named-checkzone", "-k", "fail", "-n", "fail", name, tmp],
        python_shell=False,
        ignore_retcode=True,
    )
    if check["retcode"] != 0:
        os.unlink(tmp)
        ret["result"] = False
        ret["changes"] = {}
        ret["comment"] = f"named-checkzone refused zone {name}, kept the old file: " + (
            check["stdout"] or check["stderr"]
        )
        return ret
    __salt__["file.chown"](tmp, user, group)
    os.chmod(tmp, 0o644)
    os.replace(tmp, zone_file)
    ret["comment"] = f"zone {name} written with serial {serial}"
    return ret
