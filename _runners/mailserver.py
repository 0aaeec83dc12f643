"""
Master-side commands of the mailserver formula: the encrypted mail store's life cycle.

* ``on_minion_start`` (called by the reactor on ``salt/minion/*/start``): syncs the formula's
  modules to the minion, learns its store's status and, when it is locked, notifies the
  admin (event bus, master log, and the channels configured under ``mailserver:notify`` in
  the master configuration: a webhook and an email through an outside relay).
* ``unlock``: prompts for the passphrase without echo and sends it sealed to each minion's
  own key, so only ciphertext crosses the event bus or lands in the job cache.
* ``account_locked`` (called by the reactor on ``mailserver/account/locked``): tells the
  admin through the same channels that a mailbox was locked (a hard sending limit).
* ``upgrade_failed`` (called by the reactor on ``mailserver/upgrade/failed``): tells the
  admin that mail failed its checks after unattended-upgrades installed something.
* ``backup_key``: prints what reads a minion's backups without it (the repository's key
  and passphrase, sealed by the minion to the master's key), on the terminal only.
* ``restore``: brings a new host back from the old one's backups, the admin's copy of the
  backups' key sent sealed to the new minion's key.
* ``backup_failed`` (called by the reactor on ``mailserver/backup/failed``): tells the
  admin that a backup run failed (its target unreachable, the repository refused).
* ``restart_dependents`` (called by the reactor on ``mailserver/store/unlocked``): restarts
  the services that use the store, checks them and fires ``mailserver/store/ready/<id>``.
"""

import base64
import getpass
import json
import logging
import os
import smtplib
import sys
import urllib.request
from email.message import EmailMessage

import salt.client
import salt.utils.event

log = logging.getLogger(__name__)

__virtualname__ = "mailserver"


def __virtual__():
    return __virtualname__


def _settings():
    return __opts__.get("mailserver", {}) or {}


def _local():
    return salt.client.get_local_client(__opts__["conf_file"])


def _fire(tag, data):
    with salt.utils.event.get_master_event(__opts__, __opts__["sock_dir"], listen=False) as ev:
        ev.fire_event(data, tag)


def _send(tag, subject, text, payload):
    """Tell the admin through every channel: the event bus, the master's log, and those
    configured under ``mailserver:notify`` (a webhook, an email through an outside relay).
    What was sent, channel by channel."""
    notify = _settings().get("notify", {}) or {}
    sent = {"event": tag, "log": True}
    log.warning("mailserver: %s", text.replace("\n", " "))
    payload = {**payload, "text": text}
    _fire(tag, payload)
    if notify.get("webhook"):
        req = urllib.request.Request(
            notify["webhook"],
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                sent["webhook"] = resp.status
        except OSError as exc:
            log.error("mailserver: webhook notification failed: %s", exc)
            sent["webhook"] = f"failed: {exc}"
    email = notify.get("email") or {}
    if email.get("to"):
        msg = EmailMessage()
        msg["From"] = email.get("from", "salt-master@localhost")
        msg["To"] = ", ".join(email["to"])
        msg["Subject"] = f"[mailserver] {subject}"
        msg.set_content(text)
        try:
            with smtplib.SMTP(
                email.get("relay", "localhost"), email.get("port", 25), timeout=15
            ) as smtp:
                if email.get("starttls", True):
                    smtp.starttls()
                smtp.send_message(msg)
            sent["email"] = email["to"]
        except (OSError, smtplib.SMTPException) as exc:
            log.error("mailserver: email notification failed: %s", exc)
            sent["email"] = f"failed: {exc}"
    return sent


def _notify(minion, status):
    """Send the 'store locked' notice through every configured channel; what was sent."""
    text = (
        f"The encrypted mail store on {minion} is LOCKED (backend {status.get('backend')}, "
        f"{status.get('mount_point')}). Mail waits in the senders' queues until you unlock "
        f"it.\nUnlock with: {status.get('unlock')}."
    )
    return _send(
        f"mailserver/store/locked/{minion}",
        f"mail store on {minion} is locked",
        text,
        {"minion": minion, "state": "locked", "unlock": f"salt-run mailserver.unlock {minion}"},
    )


def account_locked(minion, address, reason=""):
    """
    Tell the admin that a mailbox on ``minion`` was locked (called by the reactor on
    ``mailserver/account/locked``, which the minion fires when a user goes past a hard
    sending limit): the event ``mailserver/account/locked/<minion>``, the master's log, the
    webhook and the email of ``mailserver:notify``.

    CLI Example:

    .. code-block:: bash

        salt-run mailserver.account_locked mx1 alice@example.com "sending limit"
    """
    unlock = f"salt {minion} mailserver_accounts.unlock_user {address}"
    text = (
        f"The mailbox {address} on {minion} is LOCKED ({reason or 'no reason given'}): it "
        f"cannot log in or send; mail to it is still delivered. A hard sending limit usually "
        f"means a stolen password: change it in pillar and apply, then unlock.\n"
        f"Unlock with: {unlock}"
    )
    sent = _send(
        f"mailserver/account/locked/{minion}",
        f"mailbox {address} on {minion} is locked",
        text,
        {"minion": minion, "address": address, "reason": reason, "unlock": unlock},
    )
    return {"minion": minion, "address": address, "notified": sent}


def backup_failed(minion, detail=""):
    """
    Tell the admin that a backup on ``minion`` failed (called by the reactor on
    ``mailserver/backup/failed``, which the minion fires after a failed run): the event
    ``mailserver/backup/failed/<minion>``, the master's log, the webhook and the email of
    ``mailserver:notify``.

    CLI Example:

    .. code-block:: bash

        salt-run mailserver.backup_failed mx1 "backup failed (exit-code, exit status 2)"
    """
    text = (
        f"A backup of {minion} FAILED: {detail or 'no detail given'}.\n"
        f"Mail is not affected; the last good backup is getting older.\n"
        f"See: salt {minion} mailserver_status.check; journalctl -u borgmatic on {minion}\n"
        f"Run one again with: salt {minion} mailserver_backup.run"
    )
    sent = _send(
        f"mailserver/backup/failed/{minion}",
        f"backup of {minion} failed",
        text,
        {"minion": minion, "detail": detail},
    )
    return {"minion": minion, "detail": detail, "notified": sent}


def upgrade_failed(minion, packages=(), failed=()):
    """
    Tell the admin that mail on ``minion`` failed its checks after unattended-upgrades
    installed ``packages`` (called by the reactor on ``mailserver/upgrade/failed``, which
    the minion's upgrade guard fires): the event ``mailserver/upgrade/failed/<minion>``, the
    master's log, the webhook and the email of ``mailserver:notify``.

    CLI Example:

    .. code-block:: bash

        salt-run mailserver.upgrade_failed mx1 '["dovecot-core 1:2.3.19.1+dfsg1-2.1+deb12u2"]'
    """
    packages, failed = list(packages or []), list(failed or [])
    text = (
        f"Mail on {minion} FAILED its checks after unattended-upgrades installed: "
        f"{', '.join(packages) or 'unknown packages'}.\n"
        + "".join(f"- {line}\n" for line in failed)
        + f"See: salt {minion} mailserver_status.check; salt {minion} mailserver_guard.self_test\n"
        f"A highstate puts the formula's configuration back: salt {minion} state.apply"
    )
    sent = _send(
        f"mailserver/upgrade/failed/{minion}",
        f"mail on {minion} is broken after an upgrade",
        text,
        {"minion": minion, "packages": packages, "failed": failed},
    )
    return {"minion": minion, "notified": sent}


def _oaep():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _seal(minion, secret):
    """``secret`` (text) sealed to the minion's public key: a random AES-256-GCM key encrypts
    it, RSA-OAEP encrypts that key (the format of the formula's ``mailserver_seal`` util, which
    the minion opens it with)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    with open(os.path.join(__opts__["pki_dir"], "minions", minion), "rb") as fh:
        key = serialization.load_pem_public_key(fh.read())
    aes, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    sealed = {
        "key": key.encrypt(aes, _oaep()),
        "nonce": nonce,
        "data": AESGCM(aes).encrypt(nonce, secret.encode(), None),
    }
    return {k: base64.b64encode(v).decode() for k, v in sealed.items()}


def _unseal_from(sealed):
    """Open what a minion sealed to the master's key (see mailserver_backup.export_sealed)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    with open(os.path.join(__opts__["pki_dir"], "master.pem"), "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), password=None)
    parts = {k: base64.b64decode(v) for k, v in sealed.items()}
    aes = key.decrypt(parts["key"], _oaep())
    return json.loads(AESGCM(aes).decrypt(parts["nonce"], parts["data"], None))


def backup_key(minion):
    """
    Print, on this terminal only, what reads ``minion``'s backups without it: the
    repository's key file and its passphrase (both made on the host, never in pillar). Keep
    them offline (on paper, in a password manager): a restore onto a new host needs them,
    and the old host may be gone. The minion sends them sealed to the master's key; they are
    printed, never returned (a runner's return lands in the job cache and on the event bus).

    CLI Example:

    .. code-block:: bash

        salt-run mailserver.backup_key mx1
    """
    ret = _local().cmd(minion, "mailserver_backup.export_sealed", timeout=60)
    sealed = ret.get(minion)
    if not isinstance(sealed, dict):
        return {"minion": minion, "printed": False, "error": str(sealed)}
    secret = _unseal_from(sealed)
    out = [
        f"# Backups of {minion}: keep this offline. With it and access to the repository,",
        "# anyone can read the backups (the mail in them stays encrypted by the store).",
        f"# repository: {secret['repository']}",
        f"# passphrase: {secret['passphrase']}",
    ]
    for name, text in secret["keys"].items():
        out += [f"# key file (BORG_KEYS_DIR/{name}):", text.rstrip("\n")]
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    return {"minion": minion, "printed": True}


def restore(minion, archive="latest", force=False):
    """
    Bring ``minion`` (a new host with the old one's pillar, the highstate applied once, its
    store not initialized) back from the old host's backups: reads the copy that
    ``salt-run mailserver.backup_key`` printed (the repository's key and passphrase) from
    standard input and sends it sealed to the minion's key, which restores the ``archive``
    (the latest by default): the store's ciphertext, the accounts database, the DKIM and
    DNSSEC keys, the TLS key and certificate, the host's secrets. Then unlock the store with
    the old passphrase (``salt-run mailserver.unlock``) and apply the highstate.

    CLI Example:

    .. code-block:: bash

        salt-run mailserver.restore mx1 < mx1-backup-key.txt
    """
    text = sys.stdin.read() if sys.stdin is not None and not sys.stdin.isatty() else ""
    if "# passphrase: " not in text or "BORG_KEY " not in text:
        return {
            "minion": minion,
            "restored": False,
            "error": "give the copy that salt-run mailserver.backup_key printed on standard input",
        }
    kwarg = {"archive": archive, "force": force, "sealed": _seal(minion, text)}
    ret = _local().cmd(minion, "mailserver_backup.restore", kwarg=kwarg, timeout=3600)
    ret = ret.get(minion, "no answer")
    return {"minion": minion, "restored": isinstance(ret, dict), "result": ret}


def _auto_passphrase(minion):
    """Network-bound mode: the master keeps the passphrase and unlocks on boot."""
    keys = _settings().get("auto_unlock_dir")
    if not keys:
        return None
    try:
        with open(os.path.join(keys, f"{minion}.passphrase"), encoding="utf-8") as fh:
            return fh.read().rstrip("\n") or None
    except FileNotFoundError:
        return None


def on_minion_start(minion):
    """
    React to a minion start: sync the formula's modules to it, then check its mail store.

    CLI Example:

    .. code-block:: bash

        salt-run mailserver.on_minion_start mx1
    """
    local = _local()
    local.cmd(minion, "saltutil.sync_all", timeout=60)
    status = local.cmd(minion, "mailserver_store.status", timeout=30).get(minion)
    if not isinstance(status, dict) or status.get("state") != "locked":
        return {"minion": minion, "store": status}
    auto = _auto_passphrase(minion)
    if auto is not None:
        ret = local.cmd(
            minion, "mailserver_store.unlock", kwarg={"sealed": _seal(minion, auto)}, timeout=120
        ).get(minion)
        if isinstance(ret, dict) and ret.get("state") == "unlocked":
            log.warning("mailserver: unlocked the mail store on %s (auto_unlock)", minion)
            return {"minion": minion, "store": ret, "auto_unlock": True}
        log.error("mailserver: auto_unlock of %s failed: %s", minion, ret)
    return {"minion": minion, "store": status, "notified": _notify(minion, status)}


def unlock(tgt, tgt_type="glob"):
    """
    Unlock the mail store of the targeted minions: prompts for the passphrase without echo
    (or reads one line from standard input) and sends it sealed to each minion's key.

    CLI Example:

    .. code-block:: bash

        salt-run mailserver.unlock mx1
    """
    if sys.stdin is not None and sys.stdin.isatty():
        passphrase = getpass.getpass(f"Passphrase of the mail store on {tgt}: ")
    else:
        passphrase = sys.stdin.readline().rstrip("\n")
    if not passphrase:
        return {"error": "no passphrase given"}
    local = _local()
    result = {}
    for minion in sorted(local.gather_minions(tgt, tgt_type)):
        ret = local.cmd(
            minion,
            "mailserver_store.unlock",
            kwarg={"sealed": _seal(minion, passphrase)},
            timeout=120,
        )
        result[minion] = ret.get(minion, "no answer")
    return result


def pair_replica(primary, replica):
    """
    Give the replica the primary's mailbox replication secret (Dovecot's doveadm password,
    made on the primary): the primary sends it sealed to the master's key, the master
    seals it to the replica's key; job returns and events carry ciphertext only. Then apply
    both hosts (docs/multihost.md).

    CLI Example:

    .. code-block:: bash

        salt-run mailserver.pair_replica mx1 mx2
    """
    ret = _local().cmd(primary, "mailserver_cluster.replication_secret_export", timeout=60)
    sealed = ret.get(primary)
    if not isinstance(sealed, dict):
        return {"paired": False, "error": f"{primary}: {sealed}"}
    secret = _unseal_from(sealed)
    kwarg = {"sealed": _seal(replica, json.dumps(secret))}
    ret = _local().cmd(
        replica, "mailserver_cluster.replication_secret_import", kwarg=kwarg, timeout=60
    )
    changed = ret.get(replica)
    if not isinstance(changed, bool):
        return {"paired": False, "error": f"{replica}: {changed}"}
    return {"paired": True, "changed": changed}


def restart_dependents(minion):
    """
    Restart the services that use the store on ``minion``, in order, check that they run,
    and fire ``mailserver/store/ready/<minion>`` with the outcome.

    CLI Example:

    .. code-block:: bash

        salt-run mailserver.restart_dependents mx1
    """
    ret = _local().cmd(minion, "mailserver_store.restart_dependents", timeout=300).get(minion)
    ok = isinstance(ret, dict) and all(ret.values())
    _fire(f"mailserver/store/ready/{minion}", {"minion": minion, "services": ret, "ok": ok})
    if not ok:
        log.error("mailserver: services on %s after unlock: %s", minion, ret)
    return {"minion": minion, "services": ret, "ok": ok}
