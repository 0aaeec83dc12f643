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
    return __utils__["mailserver_secret.converge"](
        name,
        __salt__["mailserver_spam.secrets_status"],
        __salt__["mailserver_spam.ensure_secrets"],
        "the Redis password and its files are in place",
        __opts__["test"],
    )
