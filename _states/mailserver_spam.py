"""
State for spam filtering's secret: the Redis password made on the host and the files of
Redis and rspamd that carry it. Changes name files, never the password.
"""

__virtualname__ = "mailserver_spam"


def __virtual__():
    if "mailserver_spam.secrets_status" not in __salt__:
        return (False, "the mailserver_spam execution module is not available")
    return __virtualname__


def secrets_present(name):
    """The Redis password (``name``: its root-only file) and the files that carry it."""
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    todo = __salt__["mailserver_spam.secrets_status"]()
    if not todo:
        ret["comment"] = "the Redis password and its files are in place"
        return ret
    ret["changes"] = {"done": todo}
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = "would: " + "; ".join(todo)
        return ret
    __salt__["mailserver_spam.ensure_secrets"]()
    left = __salt__["mailserver_spam.secrets_status"]()
    if left:
        ret["result"] = False
        ret["changes"] = {}
        ret["comment"] = "could not: " + "; ".join(left)
    else:
        ret["comment"] = "; ".join(todo)
    return ret
