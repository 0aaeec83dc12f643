"""
Spam filtering: rspamd (content, Bayes, fuzzy hashes, DNS blocklists) with its data in Redis,
inside the encrypted store. The Redis password is made on the host (never in pillar) and
written only into Redis's and rspamd's files (root and the daemon's group); what rspamd has
learned is read from its controller, on the loopback.
"""

import json
import urllib.error
import urllib.request

from salt.exceptions import CommandExecutionError

try:
    from passlib.hash import sha512_crypt
except ImportError:  # pragma: no cover - mailserver.settings names what is missing
    sha512_crypt = None

# the web interface's user name, in nginx's password file
WEB_USER = "rspamd"

__virtualname__ = "mailserver_spam"


def __virtual__():
    return __virtualname__


def _files(model, password):
    """{path: (text, group, mode)} of the files that carry the Redis password."""
    redis, rspamd = model["redis"], model["rspamd"]
    head = "# Managed by Salt (mailserver formula): edit pillar, not this file.\n"
    return {
        redis["config_file"]: (
            f"{head}# included last by /etc/redis/redis.conf: the loopback only, the data in\n"
            f"# the encrypted store, a password generated on the host\n"
            f"bind 127.0.0.1 -::1\nport {redis['port']}\ndir {redis['dir']}\n"
            "# stop when told even if the last save fails (a full store): Redis would refuse,\n"
            "# and Debian's unit waits for it forever, hanging the store's lock and reboots\n"
            "shutdown-on-sigterm force\n"
            f"requirepass {password}\n",
            redis["user"],
            0o640,
        ),
        f"{rspamd['local_dir']}/redis.conf": (
            f'{head}servers = "127.0.0.1:{redis["port"]}";\npassword = "{password}";\n',
            rspamd["user"],
            0o640,
        ),
    }


def _redis_status(model):
    """What is not yet as it should be for the Redis password and its files."""
    password = __utils__["mailserver_secret.read"](model["redis"]["secret_file"])
    if password is None:
        return [f"generate the password ({model['redis']['secret_file']})", "write its files"]
    return [f"write {path}" for path in __utils__["mailserver_secret.stale"](
        _files(model, password))]  # fmt: skip


def _web_status(model):
    """What is not yet as it should be for the web interface's password (when it is on)."""
    rspamd = model["rspamd"]
    if not rspamd["web_ui"]:
        return []
    password = __utils__["mailserver_secret.read"](rspamd["web_secret_file"])
    if password is None:
        return [
            f"generate the web interface's password ({rspamd['web_secret_file']})",
            f"write {rspamd['web_htpasswd_file']}",
        ]
    path = rspamd["web_htpasswd_file"]
    try:
        with open(path, encoding="ascii") as fh:
            user, _, hashed = fh.read().strip().partition(":")
        good = user == WEB_USER and sha512_crypt.identify(hashed)
        good = good and sha512_crypt.verify(password, hashed)
    except (FileNotFoundError, ValueError):
        good = False
    # the hash is salted anew each time it is made: compare what it checks, not its text
    text = f"{WEB_USER}:{hashed}\n" if good else ""
    group = model["web"]["group"]
    if not good or __utils__["mailserver_secret.differs"](path, text, group, 0o640):
        return [f"write {path}"]
    return []


def _web_write(model):
    rspamd = model["rspamd"]
    password = __utils__["mailserver_secret.ensure"](rspamd["web_secret_file"])
    hashed = sha512_crypt.hash(password)
    __utils__["mailserver_secret.write"](
        rspamd["web_htpasswd_file"], f"{WEB_USER}:{hashed}\n", model["web"]["group"], 0o640
    )


def secrets_status():
    """
    What is not yet as it should be for the Redis password and, when rspamd's web interface
    is on, its password: short descriptions, empty when all is in place. Never a password.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_spam.secrets_status
    """
    model = __salt__["mailserver.current"]()
    return _redis_status(model) + _web_status(model)


def ensure_secrets():
    """
    Make the Redis password when there is none, and write the files that carry it. Returns
    what it did (never the password).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_spam.ensure_secrets
    """
    model = __salt__["mailserver.current"]()
    redis, web = _redis_status(model), _web_status(model)
    if redis:
        password = __utils__["mailserver_secret.ensure"](model["redis"]["secret_file"])
        __utils__["mailserver_secret.write_all"](_files(model, password))
    if web:
        _web_write(model)
    return redis + web


def stats():
    """
    What rspamd has scanned and learned, from its controller: ``{"scanned", "learned",
    "spam_learned", "ham_learned", "actions": {...}}``. ``learned`` counts every lesson;
    ``spam_learned`` and ``ham_learned`` are what the Bayes statistics hold (a message
    moved out of Junk moves from one to the other), refreshed from Redis every few seconds.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_spam.stats
    """
    port = __salt__["mailserver.current"]()["rspamd"]["controller_port"]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stat", timeout=10) as resp:
            data = json.load(resp)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise CommandExecutionError(f"rspamd's controller does not answer: {exc}") from None
    files = {s.get("symbol"): s for s in data.get("statfiles", [])}
    return {
        "scanned": data.get("scanned", 0),
        "learned": data.get("learned", 0),
        "spam_learned": files.get("BAYES_SPAM", {}).get("revision", 0),
        "ham_learned": files.get("BAYES_HAM", {}).get("revision", 0),
        "actions": data.get("actions", {}),
    }
