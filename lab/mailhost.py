"""Bring a lab host to a converged mail host the way an admin would: apply the highstate,
answer the store's first-run message (initialize it, or unlock it after a reboot) with the
passphrase on standard input, and apply again. mx1 through the master; a masterless host
with ``salt-call --local``."""

from __future__ import annotations

import json
from pathlib import Path

from . import container, master

# The lab's store passphrase (a test fixture, like the demo passwords).
STORE_PASSPHRASE = "lab store passphrase"


def _json(proc) -> dict:
    try:
        return json.loads(proc.stdout)["local"]
    except (ValueError, KeyError, TypeError):
        return {"raw": (proc.stdout + proc.stderr)[-2000:]}


def call(host: str, function: str, *args: str, local: bool = False, stdin: str | None = None):
    """``salt-call [--local] <function> <args>`` on ``host``; the completed process."""
    argv = ["salt-call", *(["--local"] if local else []), "--out=json", function, *args]
    return container.exec_(host, *argv, input=stdin, check=False, timeout=1800)


def store_status(host: str = "mx1", local: bool = False) -> dict:
    out = _json(call(host, "mailserver_store.status", local=local))
    return out if "state" in out else {"state": "unknown", **out}


def store_call(
    function: str, passphrase: str = STORE_PASSPHRASE, host: str = "mx1", local: bool = False
):
    """``salt-call mailserver_store.<function>`` on a host, passphrase on standard input."""
    return call(host, f"mailserver_store.{function}", local=local, stdin=passphrase + "\n")


def _answer_the_store(host: str, local: bool) -> str:
    state = store_status(host, local).get("state")
    if state == "uninitialized":
        store_call("initialize", host=host, local=local)
    elif state == "locked":
        store_call("unlock", host=host, local=local)
    return state


def converge(
    conf_dir: Path, tgt: str = "mx*", passes: list | None = None, host: str = "mx1"
) -> tuple[int, dict]:
    """Highstate through the master, initialize or unlock ``host``'s store when it asks for
    it, highstate again (each highstate's return appended to ``passes`` when given)."""
    rc, data = master.apply(conf_dir, tgt)
    if passes is not None:
        passes.append(data)
    state = _answer_the_store(host, local=False)
    if rc != 0 or state in ("uninitialized", "locked"):
        rc, data = master.apply(conf_dir, tgt)
        if passes is not None:
            passes.append(data)
    return rc, data


def apply_local(host: str, *args: str) -> tuple[int, dict]:
    """``salt-call --local state.apply ARGS`` on a masterless host: (exit status, states)."""
    proc = call(host, "state.apply", *args, local=True)
    return proc.returncode, _json(proc)


def converge_local(host: str) -> tuple[int, dict]:
    """The masterless way: apply, initialize or unlock the store when it asks, apply again."""
    rc, states = apply_local(host)
    state = _answer_the_store(host, local=True)
    if rc != 0 or state in ("uninitialized", "locked"):
        rc, states = apply_local(host)
    return rc, states
