"""
State: the mail database holds exactly the domains, mailboxes and aliases of the pillar.
"""

__virtualname__ = "mailserver_accounts"


def __virtual__():
    if "mailserver_accounts.sync" not in __salt__:
        return (False, "the mailserver_accounts execution module is not available")
    return __virtualname__


def synced(name):
    """
    Reconcile the database ``name`` with the pillar's domains, mailboxes and aliases (as
    this run's model checked them) in one transaction. Removed mailboxes can no longer log
    in or receive; their mail is moved aside under the store's ``.removed`` directory and
    deleted only when ``purge_removed_mailboxes`` is true. ``changes`` name what changed,
    never a hash.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    if __opts__["test"]:
        ops = __salt__["mailserver_accounts.diff"](database=name)
        if ops:
            ret["result"] = None
            ret["changes"] = ops
            ret["comment"] = "would change: " + _summary(ops)
        else:
            ret["comment"] = "accounts are in sync with pillar"
        return ret
    # sync reads, plans and writes in one transaction; with nothing to do it writes nothing
    done = __salt__["mailserver_accounts.sync"](database=name)
    if not done:
        ret["comment"] = "accounts are in sync with pillar"
        return ret
    left = __salt__["mailserver_accounts.diff"](database=name)
    if left:
        ret["result"] = False
        ret["comment"] = f"still differs after sync: {sorted(left)}"
        return ret
    ret["changes"] = done
    ret["comment"] = "changed: " + _summary(done)
    return ret


def _summary(ops):
    return ", ".join(f"{k} ({len(v)})" for k, v in ops.items())
