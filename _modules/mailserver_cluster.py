"""
What the hosts of a cluster (``cluster:hosts``, docs/multihost.md) learn of each other
through the Salt mine: each host publishes its certificate (:py:func:`certificate`, public),
and a host that hands mail over to the primary verifies the primary's TLS against it
(:py:func:`certificate_of`). Nothing secret passes here.
"""

import json
import os
import secrets

from salt.exceptions import CommandExecutionError

__virtualname__ = "mailserver_cluster"

MINE_FUNCTION = "mailserver_cluster.certificate"


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


def check_items(settings):
    """
    The status check's replication item (none without a partner): every user's last sync
    with the partner succeeded, as Dovecot's replicator reports it.
    """
    partner = settings["cluster"]["partner"]
    if not partner:
        return []
    name = f"mailbox replication with {partner}"
    ret = __salt__["cmd.run_all"](
        ["doveadm", "replicator", "status", "*"], python_shell=False, ignore_retcode=True
    )
    if ret["retcode"] != 0:
        return [{"name": name, "ok": False, "detail": ret["stderr"] or "doveadm failed"}]
    # username, priority, fast sync, full sync, success sync, failed ("y" or "-")
    rows = [line.split() for line in ret["stdout"].splitlines()[1:] if line.strip()]
    failed = sorted(row[0] for row in rows if row[-1] == "y")
    if failed:
        return [{"name": name, "ok": False, "detail": "last sync failed: " + ", ".join(failed)}]
    return [{"name": name, "ok": True, "detail": f"{len(rows)} mailboxes, last syncs succeeded"}]
