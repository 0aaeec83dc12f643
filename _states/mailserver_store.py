"""
State: the encrypted mail store is configured, initialized and unlocked.

It writes the store's settings for the execution module (so ``salt-call
mailserver_store.unlock`` needs no arguments), then fails, with the exact command, when the
store is not initialized or is locked: the services that use it must not run on the bare
directory, so nothing that requires this state runs either.
"""

__virtualname__ = "mailserver_store"


def __virtual__():
    if "mailserver_store.status" not in __salt__:
        return (False, "the mailserver_store execution module is not available")
    return __virtualname__


def unlocked(name, backend, cipher_dir, dependents, subdirs=None):
    """
    ``name`` (the mount point) is an unlocked ``backend`` (encfs or gocryptfs) store over
    ``cipher_dir``; ``dependents`` are the units restarted, in order, after an unlock;
    ``subdirs`` are created inside the store with their owners on every unlock.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    settings = {
        "backend": backend,
        "cipher_dir": cipher_dir,
        "mount_point": name,
        "dependents": list(dependents),
        "subdirs": list(subdirs or []),
    }
    if settings != __salt__["mailserver_store.config"]():
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = {"settings": "would be written"}
        else:
            __salt__["mailserver_store.write_config"](settings)
            ret["changes"] = {"settings": "written"}
    status = __salt__["mailserver_store.status"]()
    if status["state"] == "uninitialized":
        ret["result"] = False
        ret["comment"] = (
            f"the {backend} mail store over {cipher_dir} is not initialized; on the host, "
            "run: salt-call mailserver_store.initialize   (it prompts for a passphrase)"
        )
    elif status["state"] == "locked":
        ret["result"] = False
        ret["comment"] = f"the mail store is locked; unlock it: {status['unlock']}"
    else:
        ret["comment"] = f"the {backend} mail store is unlocked at {name}"
    return ret
