"""
Encrypted backups with BorgBackup, driven by borgmatic (Debian 12's packages), to a repository
over SSH on another host. What a backup holds and leaves out is computed once in the settings
(``backup:sources``, ``backup:excludes``); borgmatic's configuration, its timer and the hook
after each run come from the ``mailserver.backup`` states.

The repository's key (keyfile mode: it never leaves this host but for the admin's offline
copy), its passphrase and the SSH key for the target are made on the host in root-only files,
never in pillar, a process's arguments, a log or a job's return. After each run the result is
kept for the status check; a failed run is logged and fires ``mailserver/backup/failed`` (the
master's reactor tells the admin).
"""

import base64
import datetime
import json
import logging
import os
import subprocess

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "mailserver_backup"


def __virtual__():
    return __virtualname__


def _backup(settings=None):
    return (settings or __salt__["mailserver.current"]())["backup"]


# --- secrets made on the host --------------------------------------------------------------


def secrets_status():
    """
    What is not in place of the repository's passphrase and the SSH key for the target
    (made on the host, root only), never a secret; empty when all is.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_backup.secrets_status
    """
    backup = _backup()
    if not backup["enabled"]:
        return []
    todo = []
    if __utils__["mailserver_secret.read"](backup["passphrase_file"]) is None:
        todo.append(f"generate the repository's passphrase ({backup['passphrase_file']})")
    if not (
        os.path.exists(backup["ssh_key_file"]) and os.path.exists(backup["ssh_key_file"] + ".pub")
    ):
        todo.append(f"generate the SSH key for the target ({backup['ssh_key_file']})")
    for path in (backup["dir"], os.path.join(backup["dir"], "keys")):
        if not os.path.isdir(path) or os.stat(path).st_mode & 0o077:
            todo.append(f"make {path} root only")
    return todo


def ensure_secrets():
    """
    Make what :py:func:`secrets_status` lists; what was done (never a secret). Nothing
    while backups are off.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_backup.ensure_secrets
    """
    backup = _backup()
    done = []
    if not backup["enabled"]:
        return done
    for path in (backup["dir"], os.path.join(backup["dir"], "keys")):
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)
    if __utils__["mailserver_secret.read"](backup["passphrase_file"]) is None:
        __utils__["mailserver_secret.ensure"](backup["passphrase_file"])
        done.append(f"generated the repository's passphrase ({backup['passphrase_file']})")
    key = backup["ssh_key_file"]
    if not (os.path.exists(key) and os.path.exists(key + ".pub")):
        for path in (key, key + ".pub"):
            if os.path.exists(path):
                os.remove(path)
        host = __grains__.get("id", "mail host")
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"mailserver-backup@{host}"]
            + ["-f", key],
            check=True,
            capture_output=True,
        )
        done.append(f"generated the SSH key for the target ({key})")
    return done


def authorized_keys_line():
    """
    The line for the target's ``authorized_keys`` (of the user in ``backup:repository``):
    this host's public key, allowed only ``borg serve`` in append-only mode, restricted to
    the repository's path. A host taken over cannot delete or rewrite its backups; the
    target's owner compacts (frees space after prunes) with ``borg compact PATH`` on the
    target. Nothing secret.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_backup.authorized_keys_line
    """
    backup = _backup()
    if not backup["enabled"]:
        return "backups are off (mailserver:backup:enabled)"
    with open(backup["ssh_key_file"] + ".pub", encoding="ascii") as fh:
        pub = fh.read().strip()
    path = backup["target"]["path"]
    return f'command="borg serve --append-only --restrict-to-path {path}",restrict {pub}'


def export_sealed():
    """
    What the admin must keep offline to read the backups without this host: the repository's
    key (borg's key file) and its passphrase, sealed to the master's public key (a random
    AES-256-GCM key, itself encrypted with RSA-OAEP), so the job's return holds ciphertext
    only. Called by the master's ``salt-run mailserver.backup_key <host>``, which opens it
    and prints it on the admin's terminal. There is a key file once the first backup has
    made the repository.
    """
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    backup = _backup()
    if not backup["enabled"]:
        raise CommandExecutionError("backups are off (mailserver:backup:enabled)")
    keys_dir = os.path.join(backup["dir"], "keys")
    names = sorted(os.listdir(keys_dir)) if os.path.isdir(keys_dir) else []
    if not names:
        raise CommandExecutionError(
            "no repository key yet: it is made by the first backup "
            f"(salt {__grains__.get('id')} mailserver_backup.run)"
        )
    keys = {}
    for name in names:
        with open(os.path.join(keys_dir, name), encoding="ascii") as fh:
            keys[name] = fh.read()
    secret = {
        "repository": backup["repository"],
        "passphrase": __utils__["mailserver_secret.read"](backup["passphrase_file"]),
        "keys": keys,
    }
    with open(os.path.join(__opts__["pki_dir"], "minion_master.pub"), "rb") as fh:
        master = serialization.load_pem_public_key(fh.read())
    aes, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    sealed = {
        "key": master.encrypt(
            aes,
            padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
        ),
        "nonce": nonce,
        "data": AESGCM(aes).encrypt(nonce, json.dumps(secret).encode(), None),
    }
    return {k: base64.b64encode(v).decode() for k, v in sealed.items()}


# --- runs and their results ------------------------------------------------------------------


def run():
    """
    Run a backup now, as the timer would (``systemctl start borgmatic.service``, which
    waits for the end), and return its result (:py:func:`last`).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_backup.run
    """
    backup = _backup()
    if not backup["enabled"]:
        return {"ok": False, "detail": "backups are off (mailserver:backup:enabled)"}
    __salt__["cmd.run_all"](
        ["systemctl", "start", backup["service"]], python_shell=False, ignore_retcode=True
    )
    result = _last(backup)
    if not result.get("ok"):
        __context__["retcode"] = 1
    return result


def _first_error():
    """The first line borg or borgmatic logged about what went wrong in this run of the
    service (its journal, by systemd's invocation ID), shortened; empty when none."""
    invocation = os.environ.get("INVOCATION_ID")
    if not invocation:
        return ""
    ret = __salt__["cmd.run_all"](
        ["journalctl", "--no-pager", "-o", "cat", f"_SYSTEMD_INVOCATION_ID={invocation}"],
        python_shell=False,
        ignore_retcode=True,
    )
    for line in ret["stdout"].splitlines():
        line = line.strip()
        if line.startswith(("CRITICAL", "summary:", "Need some help")):
            continue
        if any(w in line for w in ("rror", "not allowed", "refused", "denied", "closed")):
            return line[:200]
    return ""


def after_run():
    """
    Called when the backup service stops (the formula's drop-in): keep the result (systemd's
    ``SERVICE_RESULT`` and ``EXIT_STATUS``) for the status check and, when the run failed,
    log it and fire ``mailserver/backup/failed`` (the master's reactor tells the admin).

    CLI Example:

    .. code-block:: bash

        salt-call mailserver_backup.after_run
    """
    backup = _backup()
    if not backup["enabled"]:
        return {"ran": False, "detail": "backups are off (mailserver:backup:enabled)"}
    outcome = os.environ.get("SERVICE_RESULT", "unknown")
    status = os.environ.get("EXIT_STATUS", "")
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    ok = outcome == "success"
    previous = _last(backup)
    detail = "backup done"
    if not ok:
        why = f"{outcome}, exit status {status}" if status else outcome
        error = _first_error()
        detail = f"backup failed ({why})" + (f": {error}" if error else "")
    result = {
        "ok": ok,
        "ran_at": now.isoformat(),
        "last_success": now.isoformat() if ok else previous.get("last_success"),
        "detail": detail,
    }
    __utils__["mailserver_secret.write"](
        backup["result_file"], json.dumps(result, indent=1), mode=0o644
    )
    if not ok:
        __context__["retcode"] = 1
        log.error("mailserver: %s; see journalctl -u %s", result["detail"], backup["service"])
        __salt__["event.send"]("mailserver/backup/failed", {"detail": result["detail"]})
    return result


def last():
    """
    The result of the last backup run: ``{"ok", "ran_at", "last_success", "detail"}``
    (``{}`` before the first).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_backup.last
    """
    return _last(_backup())


def _last(backup):
    try:
        with open(backup["result_file"], encoding="utf-8") as fh:
            return json.load(fh)
    except (FileNotFoundError, ValueError):
        return {}


def check_items(settings=None, now=None):
    """The status check's backup item: the last run succeeded and the last good backup is
    younger than ``backup:max_age_hours`` (none while backups are off)."""
    backup = _backup(settings)
    if not backup["enabled"]:
        return []
    result = _last(backup)
    now = now or datetime.datetime.now(datetime.UTC)
    if not result:
        detail = f"no backup yet (run one: salt {__grains__.get('id')} mailserver_backup.run)"
        return [{"name": "backup", "ok": False, "detail": detail}]
    if not result.get("ok"):
        return [{"name": "backup", "ok": False, "detail": result.get("detail", "failed")}]
    age = now - datetime.datetime.fromisoformat(result["last_success"])
    hours = age.total_seconds() / 3600
    ok = hours <= backup["max_age_hours"]
    detail = f"last good backup {hours:.1f} h ago" + (
        "" if ok else f" (more than {backup['max_age_hours']} h)"
    )
    return [{"name": "backup", "ok": ok, "detail": detail}]
