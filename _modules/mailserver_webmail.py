"""
The webmail (Roundcube) and the clients' autoconfiguration: the key Roundcube encrypts the
IMAP password of each session with (made on the host, never in pillar), and what Thunderbird's
autoconfig and Outlook's Autodiscover tell a mail client, from the model.
"""

__virtualname__ = "mailserver_webmail"


def __virtual__():
    return __virtualname__


def _settings():
    return __salt__["mailserver.current"]()


def _files(web, key):
    """The file that carries the key: a PHP file Roundcube's configuration includes (root
    and the webmail's user; the key is URL-safe base64, no quote)."""
    text = (
        "<?php\n// Made on the host by Salt (mailserver formula): Roundcube's session key.\n"
        f"$config['des_key'] = '{key}';\n"
    )
    return {web["secret_file"]: (text, web["user"], 0o640)}


def secrets_status():
    """
    What is not in place of the webmail's secret (its file, its owner and mode), never the
    secret itself; empty when all is.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_webmail.secrets_status
    """
    web = _settings()["webmail"]
    key = __utils__["mailserver_secret.read"](web["key_file"])
    if key is None:
        return [f"generate Roundcube's session key ({web['key_file']})", "write its file"]
    return [f"write {path}" for path in __utils__["mailserver_secret.stale"](_files(web, key))]


def ensure_secrets():
    """
    Make Roundcube's session key when there is none (kept root only), and write the file
    that carries it (root and the webmail's user). Returns what was done, never the key.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_webmail.ensure_secrets
    """
    web = _settings()["webmail"]
    todo = secrets_status()
    if todo:
        key = __utils__["mailserver_secret.ensure"](web["key_file"])
        __utils__["mailserver_secret.write_all"](_files(web, key))
    return todo


def client_settings(settings=None):
    """
    What a mail client needs to know, as Thunderbird's autoconfig and Outlook's Autodiscover
    tell it: the server, port and kind of TLS of IMAP and of submission, for every mail domain.
    Logins are the whole address, passwords are sent in the clear inside TLS only.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_webmail.client_settings
    """
    settings = settings or _settings()
    ports, host = settings["ports"], settings["hostname"]
    return {
        "domains": settings["accounts"]["domains"],
        "display_name": settings["autoconfig"]["display_name"],
        "host": host,
        # implicit TLS first (RFC 8314), STARTTLS as the fallback
        "incoming": [
            {"type": "imap", "port": ports["imaps"], "socket": "SSL"},
            {"type": "imap", "port": ports["imap"], "socket": "STARTTLS"},
        ],
        "outgoing": [
            {"type": "smtp", "port": ports["submissions"], "socket": "SSL"},
            {"type": "smtp", "port": ports["submission"], "socket": "STARTTLS"},
        ],
    }
