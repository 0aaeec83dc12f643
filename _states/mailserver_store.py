"""
State: the encrypted mail store is initialized and unlocked.

It fails, with the exact command, when the store is not initialized or is locked: the
services that use it must not run on the bare directory, so nothing that requires this state
runs either. Its settings come from the model (the store's section).
"""

__virtualname__ = "mailserver_store"


def __virtual__():
    if "mailserver_store.status" not in __salt__:
        return (False, "the mailserver_store execution module is not available")
    return __virtualname__


def unlocked(name):
    """
    ``name`` (the model's ``store:mount_point``) is the mount point of the unlocked store.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    status = __salt__["mailserver_store.status"]()
    if status.get("mount_point") != name:
        ret["result"] = False
        ret["comment"] = f"the model's store is at {status.get('mount_point')}, not at {name}"
    elif status["state"] == "uninitialized":
        ret["result"] = False
        ret["comment"] = (
            f"the {status['backend']} mail store over {status['cipher_dir']} is not "
            f"initialized; on the host, run: {status['initialize']} (it prompts for a "
            "passphrase, or reads it from standard input)"
        )
    elif status["state"] == "locked":
        ret["result"] = False
        ret["comment"] = f"the mail store is locked; unlock it: {status['unlock']}"
    else:
        ret["comment"] = f"the {status['backend']} mail store is unlocked at {name}"
    return ret
