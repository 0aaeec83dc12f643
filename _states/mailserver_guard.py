"""
State for the upgrade guard's secret: the probe mailbox's password made on the host and its
hash (root-only files). Changes name the files, never the password.
"""

__virtualname__ = "mailserver_guard"


def __virtual__():
    if "mailserver_guard.secrets_status" not in __salt__:
        return (False, "the mailserver_guard execution module is not available")
    return __virtualname__


def secrets_present(name):
    """The probe mailbox's password (``name``: its root-only file) and its hash."""
    return __utils__["mailserver_secret.converge"](
        name,
        __salt__["mailserver_guard.secrets_status"],
        __salt__["mailserver_guard.ensure_secrets"],
        "the upgrade guard's probe password is in place",
        __opts__["test"],
    )
