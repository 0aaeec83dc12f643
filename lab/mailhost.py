"""Bring mx1 to a converged mail host the way an admin would: apply the highstate, answer
the store's first-run message (initialize it, or unlock it after a reboot) with the
passphrase on standard input, and apply again."""

from __future__ import annotations

import json
from pathlib import Path

from . import container, master

# The lab's store passphrase (a test fixture, like the demo passwords).
STORE_PASSPHRASE = "lab store passphrase"


def store_status() -> dict:
    out = container.exec_(
        "mx1", "salt-call", "--out=json", "mailserver_store.status", check=False
    ).stdout
    try:
        return json.loads(out)["local"]
    except (ValueError, KeyError):
        return {"state": "unknown", "raw": out[-500:]}


def store_call(function: str, passphrase: str = STORE_PASSPHRASE):
    """``salt-call mailserver_store.<function>`` on mx1, passphrase on standard input."""
    return container.exec_(
        "mx1",
        "salt-call",
        "--out=json",
        f"mailserver_store.{function}",
        input=passphrase + "\n",
        check=False,
        timeout=120,
    )


def converge(conf_dir: Path, tgt: str = "mx*") -> tuple[int, dict]:
    """Highstate, initialize or unlock the store when it asks for it, highstate again."""
    rc, data = master.apply(conf_dir, tgt)
    state = store_status().get("state")
    if state == "uninitialized":
        store_call("initialize")
    elif state == "locked":
        store_call("unlock")
    if rc != 0 or state in ("uninitialized", "locked"):
        rc, data = master.apply(conf_dir, tgt)
    return rc, data
