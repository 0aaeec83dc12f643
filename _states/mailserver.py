"""
State: the snapshot of the model (``mailserver.current``) that functions called from the
command line read, written by the highstate (root only; the model holds no secret).
"""

import json
import os

__virtualname__ = "mailserver"


def __virtual__():
    if "mailserver.settings" not in __salt__:
        return (False, "the mailserver execution module is not available")
    return __virtualname__


def snapshot(name):
    """``name`` holds the model of this run's pillar as JSON, readable by root only."""
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    # the model map.jinja made (the same defaults and pillar: computed once per run)
    model = __salt__["mailserver.settings"](None, __pillar__.get("mailserver", {}))
    text = json.dumps(model, indent=1, sort_keys=True) + "\n"
    try:
        with open(name, encoding="utf-8") as fh:
            same = fh.read() == text and (os.stat(name).st_mode & 0o777) == 0o600
    except FileNotFoundError:
        same = False
    if same:
        ret["comment"] = "the settings snapshot is current"
        return ret
    ret["changes"] = {"snapshot": name}
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"would write the settings snapshot {name}"
        return ret
    os.makedirs(os.path.dirname(name), mode=0o755, exist_ok=True)
    tmp = f"{name}.tmp{os.getpid()}"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, name)
    ret["comment"] = f"wrote the settings snapshot {name}"
    return ret
