"""
State for the zones BIND serves for the mail domains: each zone file holds exactly the
records the host should publish, with a serial raised only when they change, and is checked
with named-checkzone before it replaces the file BIND reads.
"""

import difflib
import os

__virtualname__ = "mailserver_bind"


def __virtual__():
    if "mailserver_bind.zones" not in __salt__:
        return (False, "the mailserver_bind execution module is not available")
    return __virtualname__


def _read(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return ""


def _changed_records(old, new):
    return [
        line
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---") and " IN SOA " not in line
    ]


def zones_written(name, user="bind", group="bind"):
    """
    Every zone of the model's ``dns:zones`` has its file ``<name>/<zone>.zone`` holding SOA,
    NS and every record of the zone, computed once when the state runs (so the DKIM keys and
    the certificate made earlier in the run are in it). Reloading BIND is the service
    state's job (watch this state).
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    settings = __salt__["mailserver.current"]()
    mod = "mailserver_bind."
    todo = {}
    for zone, lines in __salt__[mod + "zones"](settings).items():
        path = os.path.join(name, f"{zone}.zone")
        old = _read(path)
        old_serial = __salt__[mod + "file_serial"](old)
        if old and old == __salt__[mod + "zone_text"](zone, lines, settings, old_serial):
            continue
        serial = __salt__[mod + "next_serial"](old_serial)
        text = __salt__[mod + "zone_text"](zone, lines, settings, serial)
        todo[zone] = (path, text, {"serial": {"old": old_serial, "new": serial},
                                   "records": _changed_records(old, text)})  # fmt: skip
    if not todo:
        ret["comment"] = f"{len(settings['dns']['zones'])} zone(s) up to date"
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = {zone: change for zone, (_, _, change) in todo.items()}
        ret["comment"] = "would write zone(s) " + ", ".join(sorted(todo))
        return ret
    refused = []
    for zone, (path, text, change) in sorted(todo.items()):
        tmp = path + ".new"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        check = __salt__["cmd.run_all"](
            ["named-checkzone", "-k", "fail", "-n", "fail", zone, tmp],
            python_shell=False,
            ignore_retcode=True,
        )
        if check["retcode"] != 0:
            os.unlink(tmp)
            refused.append(f"{zone}: {check['stdout'] or check['stderr']}")
            continue
        __salt__["file.chown"](tmp, user, group)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        ret["changes"][zone] = change
    written = ", ".join(f"{z} (serial {c['serial']['new']})" for z, c in ret["changes"].items())
    ret["comment"] = f"written: {written}" if written else ""
    if refused:
        ret["result"] = False
        ret["comment"] += "; named-checkzone refused, the old file kept: " + "; ".join(refused)
    return ret
