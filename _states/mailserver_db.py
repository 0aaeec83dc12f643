"""
States for the mail database: hardened, schema present, read-only user in place.

Each state reads through the ``mailserver_db`` execution module, returns early when nothing
differs, predicts under ``test=True`` and names what it changed (never a credential).
"""

__virtualname__ = "mailserver_db"


def __virtual__():
    if "mailserver_db.connect" not in __salt__:
        return (False, "the mailserver_db execution module is not available")
    return __virtualname__


def _ret(name):
    return {"name": name, "result": True, "changes": {}, "comment": ""}


def secured(name):
    """
    No anonymous users, no root reachable from elsewhere, no test database
    (what mysql_secure_installation does).
    """
    ret = _ret(name)
    todo = __salt__["mailserver_db.insecure_items"]()
    if not todo:
        ret["comment"] = "MariaDB is hardened"
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = {"removed": todo}
        ret["comment"] = "would remove: " + ", ".join(todo)
        return ret
    ret["changes"] = {"removed": __salt__["mailserver_db.secure"]()}
    ret["comment"] = "removed: " + ", ".join(ret["changes"]["removed"])
    return ret


def schema_present(name):
    """The mail database ``name`` with its tables (and the quota column)."""
    ret = _ret(name)
    status = __salt__["mailserver_db.schema_status"](name)
    if status["database"] and not status["missing"]:
        ret["comment"] = f"database {name} has its schema"
        return ret
    want = ([] if status["database"] else [f"database {name}"]) + status["missing"]
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = {"created": want}
        ret["comment"] = "would create: " + ", ".join(want)
        return ret
    after = __salt__["mailserver_db.create_schema"](name)
    if after["missing"]:
        ret["result"] = False
        ret["comment"] = "still missing: " + ", ".join(after["missing"])
        return ret
    ret["changes"] = {"created": want}
    ret["comment"] = "created: " + ", ".join(want)
    return ret


def reader_present(name):
    """
    The read-only user ``name`` (the model's ``mariadb:reader``: SELECT on the mail database
    only), its password generated on the minion and kept in a root-only file, and the client
    files of Postfix and Dovecot that carry it.
    """
    return __utils__["mailserver_secret.converge"](
        name,
        __salt__["mailserver_db.reader_status"],
        __salt__["mailserver_db.ensure_reader"],
        f"read-only user {name} and its client files are in place",
        __opts__["test"],
    )
