"""
Host hardening helpers: kernel settings (sysctl) that skip cleanly what a container does not
allow, and whether an update asked for a reboot.
"""

import os

__virtualname__ = "mailserver_host"


def __virtual__():
    return __virtualname__


def _proc_path(key):
    return _path("/proc/sys/" + key.replace(".", "/"))


def _path(path):
    """``path`` under the root named by the minion's ``mailserver_root`` option ("/", the
    host's own files, unless a test points it at a scratch tree)."""
    return os.path.join(__opts__.get("mailserver_root", "/"), path.lstrip("/"))


def sysctl_status(settings):
    """
    For each ``key: value`` of ``settings``: ``ok`` (already so), ``differs`` (with the
    current value), ``readonly`` (differs, and this host does not let us change it: a
    container shares the host's kernel) or ``unavailable`` (no such key here).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_host.sysctl_status '{"net.ipv4.tcp_syncookies": 1}'
    """
    out = {}
    for key, want in settings.items():
        try:
            with open(_proc_path(key), encoding="ascii") as fh:
                have = " ".join(fh.read().split())
        except OSError:
            out[key] = {"state": "unavailable"}
            continue
        if have == str(want):
            state = "ok"
        elif os.access(_proc_path(key), os.W_OK):
            state = "differs"
        else:
            state = "readonly"
        out[key] = {"state": state, "current": have}
    return out


def sysctl_apply(settings):
    """
    Set each kernel setting now; returns ``changed`` and ``skipped`` (key: reason) for the
    settings this host does not let us change (read-only in a container, or absent).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_host.sysctl_apply '{"net.ipv4.tcp_syncookies": 1}'
    """
    changed, skipped = {}, {}
    for key, st in sysctl_status(settings).items():
        if st["state"] == "unavailable":
            skipped[key] = "not available on this kernel or in this container"
            continue
        if st["state"] == "readonly":
            skipped[key] = "read-only here (a container shares the host's kernel)"
            continue
        if st["state"] == "ok":
            continue
        try:
            with open(_proc_path(key), "w", encoding="ascii") as fh:
                fh.write(str(settings[key]))
            changed[key] = {"old": st["current"], "new": str(settings[key])}
        except OSError as exc:
            skipped[key] = f"not writable here ({exc.strerror}: a container shares the host's)"
    return {"changed": changed, "skipped": skipped}


def reboot_required():
    """
    True when an update asked for a reboot (``/run/reboot-required``).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_host.reboot_required
    """
    return os.path.exists("/run/reboot-required")
