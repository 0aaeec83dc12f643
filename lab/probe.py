"""Real clients on the peer (lab/probes/mailprobe.py), as the outside world uses mx1."""

from __future__ import annotations

import json

import yaml

from . import config, container

# the formula's ports, from its defaults (the one place they are written)
PORTS = yaml.safe_load((config.REPO / "salt/mailserver/parameters/defaults.yaml").read_text())[
    "values"
]["ports"]


def probe(*args: str, password: str | None = None, stdin: str = "") -> dict:
    """Run a probe on the peer; its JSON result (what a user would see)."""
    if password is not None:
        args = (*args, "--password-stdin")
        stdin = password + "\n" + stdin
    proc = container.exec_(
        "peer",
        "python3",
        f"{config.PEER_PROBES}/mailprobe.py",
        *args,
        input=stdin,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"probe {args[0]} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)
