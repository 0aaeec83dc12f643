"""
State for the zones BIND serves for the mail domains: each zone file holds exactly the
records the host should publish, with a serial raised only when they change, and is checked
with named-checkzone before it replaces the file BIND reads.
"""

import os

__virtualname__ = "mailserver_bind"


def __virtual__():
    if "mailserver_bind.zone_plan" not in __salt__:
        return (False, "the mailserver_bind execution module is not available")
    return __virtualname__


def zones_written(name, user="bind", group="bind"):
    """
    Every zone of the model's ``dns:zones`` has its file ``<name>/<zone>.zone`` holding SOA,
    NS and every record of the zone, computed once when the state runs (so the DKIM keys and
    the certificate made earlier in the run are in it). Reloading BIND is the service
    state's job (watch this state).
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    todo = __salt__["mailserver_bind.zone_plan"](name)
    changes = {z: {"serial": p["serial"], "records": p["records"]} for z, p in todo.items()}
    if not todo:
        ret["comment"] = "every zone is up to date"
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = changes
        ret["comment"] = "would write zone(s) " + ", ".join(sorted(todo))
        return ret
    refused = []
    for zone, plan in sorted(todo.items()):
        tmp = plan["path"] + ".new"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(plan["text"])
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
        os.replace(tmp, plan["path"])
        ret["changes"][zone] = changes[zone]
    written = ", ".join(f"{z} (serial {c['serial']['new']})" for z, c in ret["changes"].items())
    ret["comment"] = f"written: {written}" if written else ""
    if refused:
        ret["result"] = False
        ret["comment"] += "; named-checkzone refused, the old file kept: " + "; ".join(refused)
    return ret
