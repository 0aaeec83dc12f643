"""
What the hosts of a cluster (``cluster:hosts``, docs/multihost.md) learn of each other
through the Salt mine: each host publishes its certificate (:py:func:`certificate`, public),
and a host that hands mail over to the primary verifies the primary's TLS against it
(:py:func:`certificate_of`). Nothing secret passes here.
"""

import json
import os
import secrets
import time

from salt.exceptions import CommandExecutionError

__virtualname__ = "mailserver_cluster"

MINE_FUNCTION = "mailserver_cluster.certificate"
# how long the status check waits for the replicator's queued and re-asked syncs, and how
# often it looks
RESYNC_WAIT = 30
POLL = 0.5


def __virtual__():
    return __virtualname__


def certificate():
    """
    This host's name and its certificate chain (PEM), for the Salt mine; empty before the
    first highstate made the certificate.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_cluster.certificate
    """
    try:
        settings = __salt__["mailserver.current"]()
    except CommandExecutionError:
        return {}
    try:
        with open(settings["tls"]["cert_file"], encoding="ascii") as fh:
            pem = fh.read()
    except FileNotFoundError:
        return {}
    return {"host": settings["hostname"], "pem": pem}


def _published():
    """Every minion's mine entry of :py:func:`certificate`, by host name."""
    found = __salt__["mine.get"]("*", MINE_FUNCTION) or {}
    return {
        entry["host"]: entry["pem"]
        for entry in found.values()
        if isinstance(entry, dict) and entry.get("host") and entry.get("pem")
    }


def certificate_of(host):
    """
    The certificate chain (PEM) that ``host`` published in the Salt mine, or ``""`` when it
    has published none yet (it has not been applied, or its minion's mine is not set up:
    ``mine_functions`` in pillar.example).

    CLI Example:

    .. code-block:: bash

        salt mx2 mailserver_cluster.certificate_of mx1.example.com
    """
    return _published().get(host, "")


def mine_current():
    """
    True when the mine holds this host's certificate as it is on disk (False: it must be
    published again, ``mine.update``).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_cluster.mine_current
    """
    own = certificate()
    return not own or _published().get(own["host"]) == own["pem"]


def _replication():
    # the pillar as the master serves it now: pairing comes before the first highstate
    settings = __salt__["mailserver.settings"]()
    partner = settings["cluster"]["partner"]
    if not partner:
        raise CommandExecutionError("this host replicates no mailboxes (cluster:hosts)")
    return settings, settings["dovecot"]["replication"]["secret_file"]


def replication_secret_export():
    """
    The replication secret (Dovecot's doveadm_password), made here on the primary when there
    is none, sealed to the master's key: the job's return holds ciphertext only. Called by
    ``salt-run mailserver.pair_replica``, which hands it on sealed to the replica's key.
    """
    settings, path = _replication()
    if settings["cluster"]["primary"] != settings["hostname"]:
        raise CommandExecutionError("the replication secret is made on the primary")
    text = __utils__["mailserver_secret.read"](path)
    if not text:
        text = f"doveadm_password = {secrets.token_urlsafe(32)}"
        __utils__["mailserver_secret.write"](path, text + "\n")
        _reload(settings)
    master_pub = os.path.join(__opts__["pki_dir"], "minion_master.pub")
    return __utils__["mailserver_seal.seal"](master_pub, json.dumps({"conf": text}).encode())


def replication_secret_import(sealed):
    """
    Write the replication secret the master sealed to this minion's key (``salt-run
    mailserver.pair_replica``); True when it changed.
    """
    settings, path = _replication()
    key_path = os.path.join(__opts__["pki_dir"], "minion.pem")
    try:
        text = json.loads(__utils__["mailserver_seal.unseal"](key_path, sealed))["conf"]
    except (ValueError, KeyError, TypeError):
        raise CommandExecutionError("the sealed secret is not for this minion") from None
    if not text.startswith("doveadm_password = ") or "\n" in text:
        raise CommandExecutionError("the sealed secret is not a replication secret")
    if __utils__["mailserver_secret.read"](path) == text:
        return False
    __utils__["mailserver_secret.write"](path, text + "\n")
    _reload(settings)
    return True


def _reload(settings):
    """A running Dovecot reads a new secret at once (a stopped one when it starts)."""
    service = settings["dovecot"]["service"]
    if __salt__["service.status"](service):
        __salt__["service.reload"](service)


def _last_error(settings, user):
    """The last error Dovecot logged about ``user`` in the last 10 minutes, or ''."""
    ret = __salt__["cmd.run_all"](
        [
            "journalctl",
            "-q",
            "-o",
            "cat",
            "-u",
            settings["dovecot"]["service"],
            "--since",
            "-10min",
        ],
        python_shell=False,
        ignore_retcode=True,
    )
    errors = [line for line in ret["stdout"].splitlines() if user in line and "Error:" in line]
    return errors[-1].split("Error:", 1)[1].strip()[:300] if errors else ""


def _replicator_status():
    """Dovecot's replicator's rows, ``(user, priority, failed)``; ``None`` and why when
    doveadm cannot say."""
    ret = __salt__["cmd.run_all"](
        ["doveadm", "replicator", "status", "*"], python_shell=False, ignore_retcode=True
    )
    if ret["retcode"] != 0:
        return None, ret["stderr"] or "doveadm failed"
    # username, priority, fast sync, full sync, success sync, failed ("y" or "-")
    rows = [line.split() for line in ret["stdout"].splitlines()[1:] if line.strip()]
    return [(row[0], row[1], row[-1] == "y") for row in rows], ""


def check_items(settings, wait=RESYNC_WAIT):
    """
    The status check's replication item (none without a partner): every user's last sync
    with the partner succeeded, as Dovecot's replicator reports it.

    The replicator retries a failed sync only after 5 minutes, so a failure that has passed
    (the partner restarted, both sides synced one user at once) would be reported for that
    long: a user whose last sync failed and who has no sync pending is synced again now, at
    high priority (again after each attempt that fails), and the item waits at most
    ``wait`` seconds for them and for the syncs already queued. A failure that stays is
    reported with the last error Dovecot logged for that user.
    """
    partner = settings["cluster"]["partner"]
    if not partner:
        return []
    name = f"mailbox replication with {partner}"
    deadline = time.monotonic() + wait
    while True:
        rows, why = _replicator_status()
        if rows is None:
            return [{"name": name, "ok": False, "detail": why}]
        queued = [user for user, priority, _ in rows if priority != "none"]
        failed = sorted(user for user, _, failed in rows if failed)
        if not failed and not queued:
            detail = f"{len(rows)} mailboxes, last syncs succeeded"
            return [{"name": name, "ok": True, "detail": detail}]
        if time.monotonic() >= deadline:
            break
        for user, priority, user_failed in rows:
            if user_failed and priority == "none":  # failed, and nothing pending for it
                __salt__["cmd.run_all"](
                    ["doveadm", "replicator", "replicate", "-p", "high", user],
                    python_shell=False,
                    ignore_retcode=True,
                )
        time.sleep(POLL)
    if failed:
        detail = "last sync failed: " + ", ".join(failed) + f" (asked again, waited {wait} s)"
        cause = _last_error(settings, failed[0])
        detail += f"; {failed[0]}: {cause}" if cause else ""
    else:
        detail = f"{len(queued)} of {len(rows)} mailboxes still queued for a sync after {wait} s"
    return [{"name": name, "ok": False, "detail": detail}]
