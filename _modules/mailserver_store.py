"""
The encrypted mail store: an EncFS (the guide's, paranoia mode) or gocryptfs volume that is
locked after every boot until the admin unlocks it.

The store's settings come from the model (``mailserver.current``: the snapshot the highstate
writes), so every function here works with no arguments, from ``salt-call`` on the host or
through the master. The passphrase comes from a prompt without echo, from standard input, or sealed
for this minion by the master's ``mailserver.unlock`` runner (encrypted to the minion's own
key, so the event bus and the job cache only ever carry ciphertext). It is handed to the
FUSE tool on its standard input: never in a process's arguments, a log or a return.
"""

import getpass
import logging
import os
import pwd
import subprocess
import sys
import time

from salt.exceptions import CommandExecutionError, SaltInvocationError

log = logging.getLogger(__name__)

__virtualname__ = "mailserver_store"

# the file each backend keeps in the cipher directory once initialized
BACKENDS = {
    "encfs": {"config": ".encfs6.xml"},
    "gocryptfs": {"config": "gocryptfs.conf"},
}


def __virtual__():
    return __virtualname__


def _config():
    """The store's settings (backend, cipher_dir, mount_point, dependents, subdirs) from the
    model; an empty dict when this host has none yet."""
    try:
        return __salt__["mailserver.current"]()["store"]
    except CommandExecutionError:
        return {}


def _need_config():
    cfg = _config()
    if not cfg:
        raise CommandExecutionError(
            "the mail store is not configured on this host yet: apply the highstate first"
        )
    return cfg


def _is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts", encoding="utf-8") as fh:
        return any(line.split()[1] == path for line in fh)


def _unlock_command():
    """The exact commands that unlock this host's store: what the status says, and so the
    state's comment and the master's notification."""
    if _masterless():
        return "salt-call --local mailserver_store.unlock   (on the host)"
    return (
        f"salt-run mailserver.unlock {__opts__.get('id', '<minion>')}   (on the master), or "
        "salt-call mailserver_store.unlock   (on the host)"
    )


def status():
    """
    ``uninitialized``, ``locked`` or ``unlocked``, with the backend and the paths.

    CLI Example:

    .. code-block:: bash

        salt-call mailserver_store.status
    """
    cfg = _config()
    if not cfg:
        return {"state": "unconfigured"}
    marker = os.path.join(cfg["cipher_dir"], BACKENDS[cfg["backend"]]["config"])
    if not os.path.exists(marker):
        state = "uninitialized"
    elif _is_mounted(cfg["mount_point"]):
        state = "unlocked"
    else:
        state = "locked"
    out = {
        "state": state,
        "backend": cfg["backend"],
        "cipher_dir": cfg["cipher_dir"],
        "mount_point": cfg["mount_point"],
        "dependents": cfg.get("dependents", []),
    }
    if state == "locked":
        out["unlock"] = _unlock_command()
    if state == "uninitialized":
        local = " --local" if _masterless() else ""
        out["initialize"] = f"salt-call{local} mailserver_store.initialize   (on the host)"
    return out


def _read_passphrase(prompt, confirm=False, sealed=None):
    if sealed is not None:
        return _unseal(sealed)
    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("Repeat: ") != first:
            raise SaltInvocationError("the passphrases differ")
        passphrase = first
    elif sys.stdin is not None:
        passphrase = sys.stdin.readline().rstrip("\n")
    else:
        passphrase = ""
    if not passphrase:
        raise SaltInvocationError(
            "no passphrase: run on a terminal to be prompted, or give it on standard input"
        )
    return passphrase


def _unseal(sealed):
    """Open a passphrase sealed by the master to this minion's key."""
    key_path = os.path.join(__opts__["pki_dir"], "minion.pem")
    try:
        return __utils__["mailserver_seal.unseal"](key_path, sealed).decode()
    except ValueError:
        raise CommandExecutionError("the sealed passphrase is not for this minion") from None


def _run(argv, passphrase_lines, timeout=60):
    """Run a FUSE tool with the passphrase on standard input; (returncode, output)."""
    proc = subprocess.run(
        argv,
        input="".join(p + "\n" for p in passphrase_lines),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    out = (proc.stdout + proc.stderr).strip()
    for p in passphrase_lines:  # never let a tool echo it back into a return or a log
        out = out.replace(p, "***")
    return proc.returncode, out


def _prepare_dirs(cfg):
    os.makedirs(cfg["cipher_dir"], mode=0o700, exist_ok=True)
    os.makedirs(cfg["mount_point"], mode=0o700, exist_ok=True)


def initialize(sealed=None):
    """
    Create the encrypted volume (EncFS in paranoia mode, or gocryptfs) and leave it unlocked.
    Prompts twice without echo, or reads the passphrase from standard input.

    CLI Example:

    .. code-block:: bash

        salt-call mailserver_store.initialize
    """
    cfg = _need_config()
    if status()["state"] != "uninitialized":
        raise CommandExecutionError("the mail store is already initialized")
    passphrase = _read_passphrase("New passphrase for the mail store: ", True, sealed)
    _prepare_dirs(cfg)
    if os.listdir(cfg["mount_point"]):
        raise CommandExecutionError(
            f"{cfg['mount_point']} is not empty: refusing to hide its files under the store"
        )
    if cfg["backend"] == "gocryptfs":
        rc, out = _run(
            ["gocryptfs", "-init", "-q", "-passfile", "/dev/stdin", cfg["cipher_dir"]], [passphrase]
        )
        if rc != 0:
            raise CommandExecutionError(f"gocryptfs -init failed: {out}")
        _mount(cfg, passphrase)
    else:
        # EncFS creates the volume on its first mount; paranoia is the only mode with MACs
        rc, out = _run(
            [
                "encfs",
                "--paranoia",
                "--stdinpass",
                "--public",
                cfg["cipher_dir"],
                cfg["mount_point"],
            ],
            [passphrase],
        )
        if rc != 0:
            raise CommandExecutionError(f"encfs failed to create the volume: {out}")
    _after_unlock(cfg)
    return status()


def _mount(cfg, passphrase):
    if cfg["backend"] == "gocryptfs":
        argv = [
            "gocryptfs",
            "-q",
            "-allow_other",
            "-passfile",
            "/dev/stdin",
            cfg["cipher_dir"],
            cfg["mount_point"],
        ]
    else:
        argv = ["encfs", "--stdinpass", "--public", cfg["cipher_dir"], cfg["mount_point"]]
    rc, out = _run(argv, [passphrase])
    if rc != 0 or not _is_mounted(cfg["mount_point"]):
        raise CommandExecutionError(
            "wrong passphrase, or the store could not be mounted; it stays locked"
            + (f" ({out.splitlines()[-1]})" if out else "")
        )


def _after_unlock(cfg):
    """Owners and modes inside the store for the services, then tell the master."""
    subdirs = cfg.get("subdirs", [])
    # the store's root: root's, listable by the group of the mail (the guide's chgrp); the
    # other daemons with data in it (Redis, Postgrey, postfwd) may pass through to their own
    # directory but not list the root
    os.chown(cfg["mount_point"], 0, subdirs[0].get("gid", 0) if subdirs else 0)
    os.chmod(cfg["mount_point"], 0o751)
    for sub in subdirs:
        path = os.path.join(cfg["mount_point"], sub["path"])
        uid, gid = sub.get("uid", 0), sub.get("gid", 0)
        if "user" in sub:  # a daemon's user, made by its package: none yet, no directory yet
            try:
                entry = pwd.getpwnam(sub["user"])
            except KeyError:
                continue
            uid, gid = entry.pw_uid, entry.pw_gid
        os.makedirs(path, exist_ok=True)
        os.chown(path, uid, gid)
        os.chmod(path, int(sub.get("mode", "0750"), 8))
    __salt__["event.send"](
        "mailserver/store/unlocked", {"backend": cfg["backend"], "mount_point": cfg["mount_point"]}
    )


def _masterless():
    return __opts__.get("file_client") == "local" or __opts__.get("master_type") == "disable"


def _next_step():
    if _masterless():
        return "apply the highstate (salt-call --local state.apply) to start the services"
    return "the master's reactor restarts the services (a highstate does too)"


def unlock(sealed=None):
    """
    Unlock the store: prompts without echo, or reads the passphrase from standard input
    (``sealed`` is the master runner's way). On success the minion fires
    ``mailserver/store/unlocked`` and the reactor restarts the services that use the store.
    A wrong passphrase leaves the store locked and untouched.

    CLI Example:

    .. code-block:: bash

        salt-call mailserver_store.unlock
    """
    cfg = _need_config()
    state = status()["state"]
    if state == "unlocked":
        return {"state": "unlocked", "comment": "already unlocked"}
    if state == "uninitialized":
        raise CommandExecutionError(
            "the mail store is not initialized: salt-call mailserver_store.initialize"
        )
    passphrase = _read_passphrase("Passphrase of the mail store: ", sealed=sealed)
    _prepare_dirs(cfg)
    if os.listdir(cfg["mount_point"]):
        raise CommandExecutionError(
            f"{cfg['mount_point']} is not empty while locked: something wrote to the bare "
            "directory; move its files aside before unlocking"
        )
    _mount(cfg, passphrase)
    _after_unlock(cfg)
    return {"state": "unlocked", "comment": f"unlocked; {_next_step()}"}


def lock():
    """
    Stop the services that use the store, then unmount it.

    CLI Example:

    .. code-block:: bash

        salt-call mailserver_store.lock
    """
    cfg = _need_config()
    if status()["state"] != "unlocked":
        return {"state": status()["state"], "comment": "not unlocked"}
    for unit in reversed(cfg.get("dependents", [])):
        if __salt__["service.available"](unit):
            __salt__["service.stop"](unit)
    # a process that is not a dependent (a timer's job, an admin's shell) may hold it a
    # moment longer: a few tries, then name who holds it
    for _ in range(10):
        rc, out = _run(["fusermount", "-u", cfg["mount_point"]], [])
        if rc == 0:
            return {"state": status()["state"], "comment": "locked"}
        time.sleep(1)
    holders = ", ".join(_holders(cfg["mount_point"])) or "no process found"
    raise CommandExecutionError(f"could not unmount the store: {out} (held by: {holders})")


def _holders(mount, proc="/proc"):
    """The processes (``name[pid]``) with a file, their directory or their root inside
    ``mount``."""

    def link(path):
        try:
            return os.readlink(path)
        except OSError:  # gone meanwhile (the process, or the descriptor that listed it)
            return ""

    found = set()
    inside = mount.rstrip("/") + "/"
    for pid in filter(str.isdigit, os.listdir(proc)):
        try:
            fds = os.listdir(f"{proc}/{pid}/fd")
            with open(f"{proc}/{pid}/comm", encoding="utf-8") as fh:
                comm = fh.read().strip()
        except OSError:
            continue
        links = [link(f"{proc}/{pid}/{n}") for n in ("cwd", "root")]
        links += [link(f"{proc}/{pid}/fd/{fd}") for fd in fds]
        if any(target == mount or target.startswith(inside) for target in links):
            found.add(f"{comm}[{pid}]")
    return sorted(found)


def restart_dependents():
    """
    Restart, in order, the services that use the store and report whether each is active.

    CLI Example:

    .. code-block:: bash

        salt-call mailserver_store.restart_dependents
    """
    cfg = _need_config()
    if status()["state"] != "unlocked":
        raise CommandExecutionError("the mail store is locked: " + _unlock_command())
    result = {}
    for unit in cfg.get("dependents", []):
        if not __salt__["service.available"](unit):
            continue
        __salt__["service.restart"](unit)
        deadline = time.monotonic() + 30
        while not __salt__["service.status"](unit) and time.monotonic() < deadline:
            time.sleep(0.5)
        result[unit] = bool(__salt__["service.status"](unit))
    if any(unit.startswith("postfix") for unit in result):  # what waited here goes out now
        __salt__["cmd.run_all"](["postqueue", "-f"], python_shell=False)
    return result


def change_passphrase():
    """
    Change the store's passphrase: prompts for the old one and the new one twice (or reads
    old and new from standard input, one per line).

    CLI Example:

    .. code-block:: bash

        salt-call mailserver_store.change_passphrase
    """
    cfg = _need_config()
    if status()["state"] == "uninitialized":
        raise CommandExecutionError("the mail store is not initialized")
    old = _read_passphrase("Current passphrase: ")
    new = _read_passphrase("New passphrase: ", confirm=True)
    if cfg["backend"] == "gocryptfs":
        rc, out = _run(["gocryptfs", "-passwd", "-q", cfg["cipher_dir"]], [old, new])
    else:
        rc, out = _run(["encfsctl", "autopasswd", cfg["cipher_dir"]], [old, new])
    if rc != 0:
        raise CommandExecutionError(f"the passphrase was not changed: {out}")
    return {"changed": True}
