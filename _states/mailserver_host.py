"""
States for host hardening: kernel settings, skipping (with a clear comment) what a container
does not allow.
"""

import os

__virtualname__ = "mailserver_host"


def __virtual__():
    if "mailserver_host.sysctl_status" not in __salt__:
        return (False, "the mailserver_host execution module is not available")
    return __virtualname__


def sysctl_hardened(name, settings):
    """
    Kernel ``settings`` in force now and from boot on (written to ``name`` in sysctl.d).
    Settings this host does not let us change are skipped and named in the comment.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    text = "# Managed by Salt (mailserver formula): kernel and network hardening.\n" + "".join(
        f"{k} = {v}\n" for k, v in sorted(settings.items())
    )
    try:
        with open(name, encoding="ascii") as fh:
            file_ok = fh.read() == text
    except FileNotFoundError:
        file_ok = False
    status = __salt__["mailserver_host.sysctl_status"](settings)
    differs = {k: v for k, v in status.items() if v["state"] == "differs"}
    unavailable = sorted(k for k, v in status.items() if v["state"] == "unavailable")
    if __opts__["test"]:
        if differs or not file_ok:
            ret["result"] = None
            ret["changes"] = {"set": sorted(differs), "file": not file_ok}
        ret["comment"] = "would set: " + ", ".join(sorted(differs)) if differs else "in force"
        return ret
    if not file_ok:
        os.makedirs(os.path.dirname(name), exist_ok=True)
        with open(name, "w", encoding="ascii") as fh:
            fh.write(text)
        ret["changes"]["file"] = name
    done = (
        __salt__["mailserver_host.sysctl_apply"](settings)
        if differs
        else {"changed": {}, "skipped": {}}
    )
    if done["changed"]:
        ret["changes"]["sysctl"] = done["changed"]
    skipped = dict.fromkeys(unavailable, "not available here")
    skipped.update(done["skipped"])
    applied = len(settings) - len(skipped)
    ret["comment"] = f"{applied} of {len(settings)} kernel settings in force"
    if skipped:
        ret["comment"] += (
            "; skipped, this host does not allow them (a container shares the "
            "host's kernel): " + ", ".join(sorted(skipped))
        )
    return ret
