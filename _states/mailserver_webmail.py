"""
State for the webmail's secret: Roundcube's session key made on the host, and the file its
configuration includes. Changes name the file, never the key.
"""

__virtualname__ = "mailserver_webmail"


def __virtual__():
    if "mailserver_webmail.secrets_status" not in __salt__:
        return (False, "the mailserver_webmail execution module is not available")
    return __virtualname__


def secrets_present(name):
    """Roundcube's session key (``name``: its root-only file) and the file that carries it."""
    return __utils__["mailserver_secret.converge"](
        name,
        __salt__["mailserver_webmail.secrets_status"],
        __salt__["mailserver_webmail.ensure_secrets"],
        "Roundcube's session key is in place",
        __opts__["test"],
    )
