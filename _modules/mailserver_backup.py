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

import contextlib
import datetime
import json
import logging
import os
import re
import shutil
import subprocess
import sys

from salt.exceptions import CommandExecutionError, SaltInvocationError

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
    master_pub = os.path.join(__opts__["pki_dir"], "minion_master.pub")
    return __utils__["mailserver_seal.seal"](master_pub, json.dumps(secret).encode())


# --- restore ---------------------------------------------------------------------------------

_KEY_LINE = re.compile(r"^[A-Za-z0-9+/=]+$")


def _parse_saved(text):
    """The admin's offline copy (what ``salt-run mailserver.backup_key`` printed): the
    repository, the passphrase and the key files. Names what is missing, never a secret."""
    saved = {"repository": None, "passphrase": None, "keys": {}}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("# repository: "):
            saved["repository"] = line.split(": ", 1)[1].strip()
        elif line.startswith("# passphrase: "):
            saved["passphrase"] = line.split(": ", 1)[1].strip()
        elif line.startswith("# key file (BORG_KEYS_DIR/") and line.endswith("):"):
            name = os.path.basename(line[len("# key file (BORG_KEYS_DIR/") : -2])
            block = []
            for follow in lines[i + 1 :]:  # "BORG_KEY <id>", then base64 lines
                if not (_KEY_LINE.match(follow) if block else follow.startswith("BORG_KEY ")):
                    break
                block.append(follow)
            if block:
                saved["keys"][name] = "\n".join(block) + "\n"
    have = {"passphrase": saved["passphrase"], "key file": saved["keys"]}
    missing = [what for what, found in have.items() if not found]
    if missing:
        raise SaltInvocationError(
            "not what salt-run mailserver.backup_key printed: no " + " and no ".join(missing)
        )
    return saved


def _admin_copy(sealed):
    """The admin's offline copy: sealed to this minion's key by the master's
    ``salt-run mailserver.restore``, or on standard input (``salt-call``)."""
    if sealed is not None:
        key = os.path.join(__opts__["pki_dir"], "minion.pem")
        try:
            return __utils__["mailserver_seal.unseal"](key, sealed).decode()
        except ValueError:
            raise CommandExecutionError("the sealed copy is not for this minion") from None
    text = sys.stdin.read() if sys.stdin is not None and not sys.stdin.isatty() else ""
    if not text:
        raise SaltInvocationError(
            "give the copy that salt-run mailserver.backup_key printed on standard input"
        )
    return text


def _borgmatic(*args, what):
    """Run borgmatic (its configuration has the repository, the passphrase command, the key
    directory and the SSH command); its output, or an error naming ``what`` failed."""
    ret = __salt__["cmd.run_all"](
        ["borgmatic", *args],
        python_shell=False,
        cwd="/",
        ignore_retcode=True,
        output_loglevel="quiet",
    )
    if ret["retcode"] not in (0, 1):  # 1: borg's warning (a file changed while read)
        tail = (ret["stderr"] or ret["stdout"]).strip().splitlines()[-3:]
        raise CommandExecutionError(f"{what} failed: " + " / ".join(tail))
    return ret["stdout"]


def archives():
    """
    The archives in this host's repository, oldest first (names only).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_backup.archives
    """
    backup = _backup()
    if not backup["enabled"]:
        return []
    out = json.loads(_borgmatic("rlist", "--json", what="listing the archives"))
    return [a["name"] for repo in out for a in repo.get("archives", [])]


def _archive(name):
    names = archives()
    if not names:
        raise CommandExecutionError("the repository holds no archive")
    if name == "latest":
        return names[-1]
    if name not in names:
        raise CommandExecutionError(f"no archive {name!r} (salt-call mailserver_backup.archives)")
    return name


def _clear(path, keep):
    """Remove what is in ``path`` but the paths in ``keep`` (and what leads to them)."""
    if not os.path.isdir(path):
        return
    for name in os.listdir(path):
        child = os.path.join(path, name)
        if any(k == child or k.startswith(child + "/") for k in keep):
            if os.path.isdir(child) and not os.path.islink(child) and child not in keep:
                _clear(child, keep)
            continue
        if os.path.isdir(child) and not os.path.islink(child):
            shutil.rmtree(child)
        else:
            os.remove(child)


def restore(archive="latest", force=False, sealed=None):
    """
    Bring this host back from its backups, onto a new host built with the same pillar (the
    highstate applied once; the store not initialized): the store's ciphertext, the
    accounts database, the DKIM and DNSSEC keys, the TLS key and certificate, the host's
    secrets and settings, as the ``archive`` (the latest by default) holds them. Reads the
    copy ``salt-run mailserver.backup_key`` printed (the repository's key and passphrase) on
    standard input; through the master, ``salt-run mailserver.restore`` sends it sealed.
    The store comes back locked: unlock it with the old host's passphrase, then apply the
    highstate. Refuses a host whose store is initialized (it would replace its mail) unless
    ``force`` is true.

    CLI Example:

    .. code-block:: bash

        salt-call mailserver_backup.restore < mx1-backup-key.txt
    """
    backup = _backup()
    if not backup["enabled"]:
        raise CommandExecutionError("backups are off (mailserver:backup:enabled)")
    saved = _parse_saved(_admin_copy(sealed))
    if saved["repository"] and saved["repository"] != backup["repository"]:
        raise CommandExecutionError(
            f"the copy is of {saved['repository']}, this host backs up to "
            f"{backup['repository']}: set mailserver:backup:repository to the copy's"
        )
    store = __salt__["mailserver_store.status"]()
    if store["state"] != "uninitialized" and not force:
        raise CommandExecutionError(
            f"this host's mail store is {store['state']}: a restore replaces it and its mail "
            "(on a new host, restore instead of initializing the store; force=True to replace)"
        )
    if store["state"] == "unlocked":
        __salt__["mailserver_store.lock"]()
    # no backup of a half-restored host
    __salt__["cmd.run_all"](
        ["systemctl", "stop", backup["timer"], backup["service"]], python_shell=False
    )
    keys_dir = os.path.join(backup["dir"], "keys")
    _clear(keys_dir, [])
    for name, text in saved["keys"].items():
        __utils__["mailserver_secret.write"](os.path.join(keys_dir, name), text)
    __utils__["mailserver_secret.write"](backup["passphrase_file"], saved["passphrase"] + "\n")
    name = _archive(archive)
    for path in backup["sources"]:
        _clear(path, backup["excludes"])
        # borg makes a missing parent root-only; the store's users pass through /mail
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent, mode=0o755)
            os.chmod(parent, 0o755)
    paths = [path.lstrip("/") for path in backup["sources"]]  # one --path, many paths
    _borgmatic("extract", "--archive", name, "--path", *paths, what="extracting the files")
    _borgmatic("restore", "--archive", name, "--database", backup["database"], what="the database")
    __salt__["cmd.run_all"](
        ["systemctl", "try-restart", *backup["restart_after_restore"]], python_shell=False
    )
    __salt__["cmd.run_all"](["systemctl", "start", backup["timer"]], python_shell=False)
    minion = __grains__.get("id", "<minion>")
    return {
        "archive": name,
        "restored": backup["sources"],
        "database": backup["database"],
        "store": __salt__["mailserver_store.status"]()["state"],
        "next": [
            f"salt-run mailserver.unlock {minion}   (the OLD host's store passphrase)",
            f"salt {minion} state.apply",
            f"salt {minion} mailserver_backup.run",
            f"salt {minion} mailserver_status.check",
        ],
    }


def _cipher_dir_of(plain, mount, cipher_root):
    """The ciphertext directory behind ``plain`` (a directory in the unlocked store): found
    component by component by inode number, which both backends pass through, so no key is
    needed."""
    cipher, here = cipher_root, mount
    for part in os.path.relpath(plain, mount).split(os.sep):
        here = os.path.join(here, part)
        inode = os.stat(here).st_ino
        found = [e.path for e in os.scandir(cipher) if e.is_dir() and e.inode() == inode]
        if not found:
            raise CommandExecutionError(f"no ciphertext directory behind {here}")
        cipher = found[0]
    return cipher


def _archived(name, cipher):
    """What the archive ``name`` holds under ``cipher``: ``{absolute path: type}`` (borg's
    ``d`` directory, ``-`` file)."""
    out = _borgmatic(
        "list",
        "--archive",
        name,
        "--path",
        cipher.lstrip("/"),
        "--format",
        "{type} {path}{NL}",
        what="listing the archive",
    )
    entries = {}
    for line in out.splitlines():
        kind, _, path = line.partition(" ")
        if path and kind in ("d", "-"):
            entries["/" + path] = kind
    return entries


def restore_mail(address, archive="latest"):
    """
    Bring back what a mailbox lost since a backup: each message the ``archive`` (the
    latest by default) holds and the mailbox no longer does goes back into its folder, and
    each folder deleted since comes back whole. Nothing in the mailbox is overwritten, and a
    message still there (its flags changed since) is not doubled. Works on the unlocked
    store without its passphrase: the backup holds the store's ciphertext, put back where it
    was. The user sees the messages again at the next look (they get new IMAP UIDs).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_backup.restore_mail alice@example.com
    """
    settings = __salt__["mailserver.current"]()
    backup, store = settings["backup"], settings["store"]
    if not backup["enabled"]:
        raise CommandExecutionError("backups are off (mailserver:backup:enabled)")
    if __salt__["mailserver_store.status"]()["state"] != "unlocked":
        raise CommandExecutionError("the mail store is locked: unlock it first")
    local, _, domain = address.lower().rpartition("@")
    plain = os.path.join(store["mailbox_dir"].format(domain=domain, local=local), "Maildir")
    if not local or not os.path.isdir(plain):
        raise CommandExecutionError(f"no mailbox {address} on this host")
    name = _archive(archive)
    top = _cipher_dir_of(plain, store["mount_point"], store["cipher_dir"])
    by_inode = {os.stat(d).st_ino: d for d, _, _ in os.walk(plain)}
    # ciphertext directory -> plaintext directory, for each of the mailbox's
    live = {d: by_inode.get(os.stat(d).st_ino) for d, _, _ in os.walk(top)}
    live = {d: p for d, p in live.items() if p}
    messages, folders = [], []
    for path, kind in sorted(_archived(name, top).items()):
        parent = os.path.dirname(path)
        if os.path.lexists(path) or parent not in live:
            continue  # there still, or inside a folder that comes back whole
        if kind == "-" and os.path.basename(live[parent]) in ("cur", "new"):
            messages.append(path)
        elif kind == "d" and parent == top:
            folders.append(path)
    todo = messages + folders
    for i in range(0, len(todo), 200):
        paths = [path.lstrip("/") for path in todo[i : i + 200]]  # one --path, many paths
        _borgmatic("extract", "--archive", name, "--path", *paths, what="extracting the messages")
    # a message still in the mailbox under another name (its flags changed, or moved from
    # new/ to cur/ since) came back twice: the copy put back goes (Dovecot may have dealt
    # with some already: a file gone since is skipped)
    restored, folders_of = {}, set()
    for path in messages:  # (a folder that came back was gone: nothing in it is doubled)
        if os.path.dirname(path) in live:
            with contextlib.suppress(FileNotFoundError):
                restored[os.lstat(path).st_ino] = path
                folders_of.add(os.path.dirname(live[os.path.dirname(path)]))
    doubled = 0
    for folder in folders_of:
        entries = [e for sub in ("cur", "new") for e in os.scandir(os.path.join(folder, sub))]
        seen = set()
        for entry in sorted(entries, key=lambda e: e.inode() in restored):  # the mailbox's first
            base = entry.name.split(":")[0]
            if base in seen and entry.inode() in restored:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(entry.path)
                    doubled += 1
            seen.add(base)
    __salt__["cmd.run_all"](
        ["doveadm", "force-resync", "-u", address, "*"], python_shell=False, ignore_retcode=True
    )
    return {
        "archive": name,
        "mailbox": address,
        "messages": len(restored) - doubled,
        "folders": len(folders),
    }


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


_CAUSES = (
    ("refused", "denied", "not allowed", "No route", "timed out", "resolve", "No space"),
    ("rror",),
    ("closed",),
)


def _first_error(log_file):
    """The line of this run's errors (the service's stderr: borgmatic's errors, borg's and
    ssh's own words; the file is emptied as each run starts) that says what went wrong,
    shortened; empty when none."""
    try:
        with open(log_file, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith(("summary:", "Need some help"))]
    # the cause before its consequences, whatever their order in the log: ssh's "Connection
    # refused" says more than borgmatic's summary line "Error running actions for
    # repository" (logged before the output it summarizes) or borg's "Connection closed"
    for words in _CAUSES:
        for line in lines:
            if any(w in line for w in words):
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
        error = _first_error(backup["log_file"])
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
        log.error("mailserver: %s; see %s", result["detail"], backup["log_file"])
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
    return __utils__["mailserver_secret.read_json"](backup["result_file"])


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
