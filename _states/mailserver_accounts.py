"""
State: the mail database holds exactly the domains, mailboxes and aliases of the pillar.
"""

__virtualname__ = "mailserver_accounts"


def __virtual__():
    if "mailserver_accounts.sync" not in __salt__:
        return (False, "the mailserver_accounts execution module is not available")
    return __virtualname__


def synced(name, accounts, mail_root=None, purge=False):
    """
    Reconcile the database ``name`` with ``accounts`` (``domains``, ``mailboxes``,
    ``aliases`` as in pillar) in one transaction. Removed mailboxes can no longer log in or
    receive; their mail is moved aside under ``mail_root/.removed`` and deleted only when
    ``purge`` is true. ``changes`` name what changed, never a hash.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    ops = __salt__["mailserver_accounts.diff"](accounts, name)
    if not ops and not purge:
        ret["comment"] = "accounts are in sync with pillar"
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = ops
        ret["comment"] = "would change: " + ", ".join(f"{k} ({len(v)})" for k, v in ops.items())
        return ret
    done = __salt__["mailserver_accounts.sync"](accounts, name, mail_root, purge)
    left = __salt__["mailserver_accounts.diff"](accounts, name)
    if left:
        ret["result"] = False
        ret["comment"] = f"still differs after sync: {sorted(left)}"
        return ret
    ret["changes"] = done
    ret["comment"] = (
        "changed: " + ", ".join(f"{k} ({len(v)})" for k, v in done.items())
        if done
        else "accounts are in sync with pillar"
    )
    return ret
