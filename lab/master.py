"""The salt-master the lab is driven by: configured as a user's master would be.

``config()`` is the master configuration both for the pytest-salt-factories master of the
tests and for the ``make demo`` master: file_roots serve ``salt/`` only (its ``_modules``,
``_states`` and ``_runners`` are links to the repository's folders), pillar_roots serve
``pillar/``, and the reactor lives under ``salt/reactor``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from . import config as labconfig
from .sh import run
from .until import until

DEMO_DIR = labconfig.STATE / "master"
PORTS = {"publish_port": 4505, "ret_port": 4506}


def config() -> dict:
    salt_root = labconfig.REPO / "salt"
    return {
        "interface": labconfig.HOST_IP4,
        "file_roots": {"base": [str(salt_root)]},
        "pillar_roots": {"base": [str(labconfig.LAB_PILLAR), str(labconfig.REPO / "pillar")]},
        "reactor": [
            {"salt/minion/*/start": [str(salt_root / "reactor" / "minion_start.sls")]},
            {"mailserver/store/unlocked": [str(salt_root / "reactor" / "store_unlocked.sls")]},
            {"mailserver/account/locked": [str(salt_root / "reactor" / "account_locked.sls")]},
            {"mailserver/upgrade/failed": [str(salt_root / "reactor" / "upgrade_failed.sls")]},
            {"mailserver/backup/failed": [str(salt_root / "reactor" / "backup_failed.sls")]},
        ],
        # the formula's runner, straight from the repository (users may sync it instead)
        "runner_dirs": [str(labconfig.REPO / "_runners")],
        # the admin is told through the outside world's MTA (the peer), as through a relay
        "mailserver": {
            "notify": {
                "email": {
                    "relay": labconfig.HOSTS["peer"].ip4,
                    "port": 25,
                    "starttls": False,
                    "from": f"salt-master@{labconfig.PEER_DOMAIN}",
                    "to": [f"admin@{labconfig.PEER_DOMAIN}"],
                }
            }
        },
        "auto_accept": False,
        "open_mode": False,
        "state_output": "changes",
    }


def minion_config() -> str:
    """A lab minion's configuration: what a user sets, the master's address, and nothing else
    (a setting only the lab had could hide a bug every user hits)."""
    return yaml.safe_dump({"master": labconfig.HOST_IP4})


def masterless_config() -> str:
    """A masterless host's configuration, as docs/install.md tells a user to write it."""
    return yaml.safe_dump(
        {
            "file_client": "local",
            "file_roots": {"base": [f"{labconfig.FORMULA_DIR}/salt"]},
            "pillar_roots": {"base": [labconfig.MASTERLESS_PILLAR]},
        }
    )


def preseed(pki_dir: Path, minion: str, minion_pki: Path) -> None:
    """Salt's documented preseeding: the minion's key pair made here, its public half put in
    the master's accepted keys, so the minion is answered at its first start."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    minion_pki.mkdir(parents=True, exist_ok=True)
    pem = minion_pki / "minion.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    pem.chmod(0o400)
    (minion_pki / "minion.pub").write_bytes(pub)
    accepted = pki_dir / "minions"
    accepted.mkdir(parents=True, exist_ok=True)
    (accepted / minion).write_bytes(pub)


# --- the demo's master: a plain salt-master daemon from the project's venv -------------------


def _bin(tool: str) -> str:
    return str(Path(sys.executable).with_name(tool))


def demo_start() -> Path:
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    root = DEMO_DIR / "root"
    conf = {
        **config(),
        "root_dir": str(root),
        "pki_dir": str(root / "pki"),
        "cachedir": str(root / "cache"),
        "sock_dir": str(root / "sock"),
        "pidfile": str(root / "salt-master.pid"),
        "log_file": str(root / "master.log"),
        "key_logfile": str(root / "key.log"),
        "user": "root",
    }
    (DEMO_DIR / "master").write_text(yaml.safe_dump(conf))
    demo_stop()
    # every lab boots new minions with new keys: forget the keys of an earlier lab
    for kind in ("minions", "minions_pre", "minions_denied", "minions_rejected"):
        for key in (root / "pki" / kind).glob("*"):
            key.unlink()
    subprocess.Popen(
        [_bin("salt-master"), "-c", str(DEMO_DIR), "-l", "quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection((labconfig.HOST_IP4, PORTS["ret_port"]), 1).close()
            return demo_pki()
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"salt-master did not start; see {root / 'master.log'}")


def demo_pki() -> Path:
    return DEMO_DIR / "root" / "pki"


def demo_stop() -> None:
    try:
        pid = int((DEMO_DIR / "root" / "salt-master.pid").read_text())
        os.killpg(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


def salt(
    conf_dir: Path,
    *args: str,
    tool: str = "salt",
    check: bool = True,
    timeout=1800,
    input: str | None = None,
):
    """Run a salt CLI (salt, salt-key, salt-run) against the master configured in conf_dir
    (``input`` on its standard input, as an admin redirects a file)."""
    return run(_bin(tool), "-c", str(conf_dir), *args, check=check, timeout=timeout, input=input)


def json_docs(text: str) -> dict:
    """Merge the JSON documents the salt CLI prints one per minion (--out=json)."""
    out, pos, decoder = {}, 0, json.JSONDecoder()
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        doc, pos = decoder.raw_decode(text, pos)
        out.update(doc)


def apply(conf_dir: Path, tgt: str, *args: str) -> tuple[int, dict]:
    """``salt TGT state.apply ARGS`` through the master; (exit status, {minion: states}).

    Not ``--static``: on salt 3008.4 it routes through the batch code, which always exits 0.
    """
    proc = salt(conf_dir, tgt, "state.apply", *args, "--out=json", check=False)
    try:
        data = json_docs(proc.stdout)
    except ValueError:
        data = {}
    if not data:
        raise RuntimeError(
            f"state.apply returned no data: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return proc.returncode, data


def wait_ping(conf_dir: Path, minion: str, timeout: float = 90) -> float:
    """Wait until the minion answers test.ping through the master; return seconds waited."""
    start = time.monotonic()

    def answers():
        ping = salt(conf_dir, minion, "test.ping", "--out=json", "-t", "5", check=False)
        return ping.returncode == 0

    until(answers, f"minion {minion} to answer test.ping", timeout, interval=1)
    return time.monotonic() - start
