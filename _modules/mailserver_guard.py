"""
The guard after upgrades: unattended-upgrades installs security updates by itself, and an
update can break mail (a changed default, a configuration file replaced). After each of its
runs that installed something, the host runs its status check and an end-to-end self test:
a message through submission (TLS, SMTP AUTH) to the probe mailbox, read back over IMAPS,
its DKIM signature verified against the key DNS publishes. When anything fails, the result
is logged (the journal) and the minion fires ``mailserver/upgrade/failed``: the master's
reactor tells the admin through the channels of ``mailserver:notify``.

The probe mailbox is the formula's own (``updates:guard:probe_local`` at the first mail
domain); its password is made on the host and kept in a root-only file, never in pillar,
a process's arguments, a log or a job's return.
"""

import datetime
import email.message
import email.utils
import imaplib
import json
import logging
import os
import secrets
import smtplib
import ssl
import time

log = logging.getLogger(__name__)

__virtualname__ = "mailserver_guard"

DPKG_LOG = "/var/log/dpkg.log"
HEADER = "X-Mailserver-Guard"
UNIT = "apt-daily-upgrade.service"  # unattended-upgrades, run by apt's daily timer


def __virtual__():
    return __virtualname__


def _guard(settings=None):
    return (settings or __salt__["mailserver.current"]())["updates"]["guard"]


# --- the probe mailbox's password, made on the host --------------------------------------------


def probe_hash(settings=None):
    """The probe mailbox's password hash (``{SHA512-CRYPT}...``), or None when the guard is
    off or its secret not made yet. The accounts sync adds the mailbox with it. Not for the
    command line (a hash stays inside the run)."""
    guard = _guard(settings)
    if not guard["probe"]:
        return None
    return __utils__["mailserver_secret.read"](guard["hash_file"])


def secrets_status():
    """
    What is not in place of the probe mailbox's password (made on the host) and its hash,
    never the password; empty when all is.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_guard.secrets_status
    """
    guard = _guard()
    if not guard["probe"]:
        return []
    read = __utils__["mailserver_secret.read"]
    todo = []
    if read(guard["secret_file"]) is None:
        todo.append(f"generate the probe mailbox's password ({guard['secret_file']})")
    if read(guard["hash_file"]) is None or todo:
        todo.append(f"write its hash ({guard['hash_file']})")
    return todo


def ensure_secrets():
    """
    Make the probe mailbox's password when there is none (root only) and its hash. Returns
    what was done, never the password.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_guard.ensure_secrets
    """
    guard = _guard()
    todo = secrets_status()
    if todo:
        password = __utils__["mailserver_secret.ensure"](guard["secret_file"])
        hashed = __salt__["mailserver_accounts.hash_password"]("SHA512-CRYPT", password)
        __utils__["mailserver_secret.write"](guard["hash_file"], hashed + "\n")
    return todo


# --- the self test -------------------------------------------------------------------------


def _item(name, ok, detail):
    return {"name": name, "ok": bool(ok), "detail": detail}


def _tls(settings):
    ctx = ssl.create_default_context(cafile=settings["tls"]["loopback_ca_file"])
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class _IMAPS(imaplib.IMAP4_SSL):
    """IMAPS to the loopback, verifying the certificate under the host's name (imaplib
    would check the name it connects to)."""

    def __init__(self, settings):
        self._name = settings["hostname"]
        super().__init__(
            "127.0.0.1", settings["ports"]["imaps"], ssl_context=_tls(settings), timeout=30
        )

    def _create_socket(self, timeout):
        sock = imaplib.IMAP4._create_socket(self, timeout)  # pylint: disable=protected-access
        return self.ssl_context.wrap_socket(sock, server_hostname=self._name)


class _SMTPS(smtplib.SMTP_SSL):
    """Submission with implicit TLS to the loopback, verified under the host's name."""

    def __init__(self, settings):
        self._name = settings["hostname"]
        super().__init__(
            "127.0.0.1", settings["ports"]["submissions"], context=_tls(settings), timeout=30
        )

    def _get_socket(self, host, port, timeout):
        sock = smtplib.SMTP._get_socket(self, host, port, timeout)  # pylint: disable=protected-access
        return self.context.wrap_socket(sock, server_hostname=self._name)


def _send(settings, probe, password, token):
    msg = email.message.EmailMessage()
    msg["From"] = probe
    msg["To"] = probe
    msg["Subject"] = f"mailserver upgrade guard {token}"
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = email.utils.make_msgid(domain=probe.partition("@")[2])
    msg[HEADER] = token
    msg.set_content(f"The upgrade guard's probe message {token}.\n")
    with _SMTPS(settings) as smtp:
        smtp.login(probe, password)
        smtp.send_message(msg)


def _fetch(settings, probe, password, token, timeout):
    """The probe message as stored, read back over IMAPS (then deleted), or None."""
    deadline = time.monotonic() + timeout
    with _IMAPS(settings) as imap:
        imap.login(probe, password)
        while True:
            imap.select("INBOX")
            _, data = imap.uid("SEARCH", None, "HEADER", HEADER, token)
            uids = data[0].split() if data and data[0] else []
            if uids:
                _, parts = imap.uid("FETCH", uids[0], "(BODY.PEEK[])")
                raw = next(p[1] for p in parts if isinstance(p, tuple))
                imap.uid("STORE", b",".join(uids), "+FLAGS.SILENT", r"(\Deleted)")
                imap.expunge()
                return raw
            if time.monotonic() > deadline:
                return None
            time.sleep(1)


def _dkim_verify(raw):
    ret = __salt__["cmd.run_all"](
        ["dkimverify"],
        stdin=raw.decode("utf-8", "replace"),
        python_shell=False,
        output_loglevel="quiet",
    )
    out = (ret.get("stdout") or ret.get("stderr") or "").strip()
    return ret["retcode"] == 0, out or f"exit {ret['retcode']}"


def self_test(settings=None):
    """
    End to end, as a user: a message from the probe mailbox to itself through submission
    (implicit TLS, SMTP AUTH), read back over IMAPS, and its DKIM signature verified
    against the key DNS publishes. ``{"ok", "checks", "summary"}``; exits non-zero when a
    step fails.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_guard.self_test
    """
    settings = settings or __salt__["mailserver.current"]()
    return __salt__["mailserver_status.judge"](_probe(settings))


def _probe(settings):
    """The self test's steps as checks, up to the first that fails."""
    guard = settings["updates"]["guard"]
    probe = guard["probe"]
    password = __utils__["mailserver_secret.read"](guard["secret_file"])
    if not probe or not password:
        return [_item("self test", False, "no probe mailbox (no mail domain, or no highstate)")]
    token = secrets.token_hex(8)
    try:
        _send(settings, probe, password, token)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        return [_item("self test: submission", False, f"{type(exc).__name__}: {exc}")]
    checks = [_item("self test: submission", True, f"sent {token} to {probe}")]
    try:
        raw = _fetch(settings, probe, password, token, guard["timeout"])
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        return [*checks, _item("self test: IMAP", False, f"{type(exc).__name__}: {exc}")]
    if raw is None:
        missing = f"{token} not delivered in {guard['timeout']}s"
        return [*checks, _item("self test: IMAP", False, missing)]
    checks.append(_item("self test: IMAP", True, f"read {token} back"))
    ok, detail = _dkim_verify(raw)
    return [*checks, _item("self test: DKIM", ok, detail)]


# --- after an upgrade ------------------------------------------------------------------------


def _run_started():
    """When the latest run of unattended-upgrades' service started, as dpkg logs times
    (``YYYY-MM-DD HH:MM:SS``, local), or None when it never ran."""
    ret = __salt__["cmd.run_all"](
        ["systemctl", "show", UNIT, "-p", "ExecMainStartTimestamp", "--timestamp=unix", "--value"],
        python_shell=False,
        ignore_retcode=True,
    )
    value = ret.get("stdout", "").strip().lstrip("@")
    if not value.isdigit() or value == "0":
        return None
    return datetime.datetime.fromtimestamp(int(value)).strftime("%Y-%m-%d %H:%M:%S")


def _installed_since(since):
    """Packages dpkg installed or upgraded (or tried to) at or after ``since`` (local time
    as dpkg logs it, ``YYYY-MM-DD HH:MM:SS``; none when None): ``["name version", ...]``."""
    if since is None:
        return []
    found = []
    try:
        with open(DPKG_LOG, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                # "<date> <time> upgrade <pkg>:<arch> <old> <new>" (install: old is <none>),
                # whether or not its configuration then succeeded
                parts = line.split()
                action = len(parts) >= 6 and parts[2] in ("install", "upgrade")
                if action and f"{parts[0]} {parts[1]}" >= since:
                    found.append(f"{parts[3].split(':')[0]} {parts[5]}")
    except FileNotFoundError:
        pass
    return list(dict.fromkeys(found))


def last():
    """
    The upgrade guard's last result (``{}`` before its first run).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_guard.last
    """
    return __utils__["mailserver_secret.read_json"](_guard()["result_file"])


def after_upgrade(force=False):
    """
    Called when unattended-upgrades' service stops (the hook the formula installs): when
    its latest run installed something (or ``force``), run the status check and the self
    test; when either fails, log it and fire ``mailserver/upgrade/failed``
    (the master's reactor tells the admin). The result is kept for
    :py:func:`last`.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_guard.after_upgrade force=True
    """
    settings = __salt__["mailserver.current"]()
    guard = settings["updates"]["guard"]
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    packages = _installed_since(_run_started())
    if not packages and not force:
        return {"ran": False, "comment": "the latest unattended-upgrades run installed nothing"}
    status = __salt__["mailserver_status.check"]()
    test = self_test(settings)
    failed = [c for c in status["checks"] + test["checks"] if not c["ok"]]
    result = {
        "ran": True,
        "checked_at": now,
        "packages": packages,
        "ok": not failed,
        "failed": [f"{c['name']}: {c['detail']}" for c in failed],
        "summary": f"status check: {status['summary']}; self test: {test['summary']}",
    }
    os.makedirs(os.path.dirname(guard["result_file"]), exist_ok=True)
    with open(guard["result_file"], "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1)
    if failed:
        __context__["retcode"] = 1
        log.error("mailserver: after the upgrade of %s: %s", ", ".join(packages), result["summary"])
        __salt__["event.send"](
            "mailserver/upgrade/failed",
            {"packages": packages, "failed": result["failed"], "summary": result["summary"]},
        )
    else:
        __context__.pop("retcode", None)
    return result
