"""
State of the status check (``mailserver_status.check``): it passes when every check passes,
and changes nothing. The rolling orchestration (``mailserver.orch.rolling``) runs it on each
host before the next host's turn.
"""

__virtualname__ = "mailserver_status"


def __virtual__():
    if "mailserver_status.check" not in __salt__:
        return (False, "the mailserver_status execution module is not available")
    return __virtualname__


def passed(name):
    """Every check of the status check passes (``name``: a label for the run)."""
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    report = __salt__["mailserver_status.check"]()
    # the check sets a failing exit status for the command line; a state reports by result
    __context__.pop("retcode", None)
    ret["result"] = bool(report["ok"])
    ret["comment"] = report["summary"]
    return ret
