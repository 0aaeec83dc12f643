"""
States for host hardening: kernel settings in force now, skipping (with a clear comment) what
a container does not allow. The file that sets them at boot is a template of the
``mailserver.kernel`` state.
"""

__virtualname__ = "mailserver_host"


def __virtual__():
    if "mailserver_host.sysctl_status" not in __salt__:
        return (False, "the mailserver_host execution module is not available")
    return __virtualname__


def sysctl_applied(name, settings):
    """
    Kernel ``settings`` (``{key: value}``) in force now. Settings this host does not let us
    change (absent, or read-only in a container) are skipped and named in the comment.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    status = __salt__["mailserver_host.sysctl_status"](settings)
    differs = {k: v for k, v in status.items() if v["state"] == "differs"}
    skipped = {
        k: v["state"] for k, v in status.items() if v["state"] in ("unavailable", "readonly")
    }
    if differs and __opts__["test"]:
        ret["result"] = None
        ret["changes"] = {
            k: {"old": v["current"], "new": str(settings[k])} for k, v in differs.items()
        }
        ret["comment"] = "would set: " + ", ".join(sorted(differs))
        return ret
    if differs:
        done = __salt__["mailserver_host.sysctl_apply"]({k: settings[k] for k in differs})
        ret["changes"] = done["changed"]
        skipped.update(done["skipped"])
    applied = len(settings) - len(skipped)
    ret["comment"] = f"{applied} of {len(settings)} kernel settings in force"
    if skipped:
        ret["comment"] += (
            "; skipped, this host does not allow them (a container shares the "
            "host's kernel): " + ", ".join(sorted(skipped))
        )
    return ret
