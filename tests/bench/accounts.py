"""Accounts at scale, through the master as a user applies them (part of ``make bench``).

N mailboxes and N/10 aliases in the example pillar's two domains (a pillar file of the
lab's, merged over the example pillar, removed afterwards): the accounts' first sync
(``state.apply mailserver.accounts``), the same with nothing to change, and the whole
highstate with nothing to change; then their removal.

The baseline is the way other Salt formulas keep accounts: one state per mailbox (here a
``cmd.run`` upserting the mailbox's row ``unless`` it is there already, generated into an
SLS: Salt 3008 has no MySQL states in its core, and its ``mysql.query`` fails with
pymysql), applied with ``salt-call --local`` on mx1 for ``BASE`` mailboxes and scaled to N
(the per-state cost is constant: a state's render, its check and its query). Its second
run is its no-op.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from lab import config, container, master

HASH = "{SHA512-CRYPT}$6$benchsalt$" + "A" * 86
DOMAINS = ("example.com", "example.org")


def accounts(n: int) -> dict:
    boxes = {f"bench{i}@{DOMAINS[i % 2]}": {"password_hash": HASH} for i in range(n)}
    aliases = {
        f"benchalias{i}@{DOMAINS[i % 2]}": f"bench{i}@{DOMAINS[i % 2]}" for i in range(n // 10)
    }
    return {"mailboxes": boxes, "aliases": aliases}


def _apply(conf_dir: Path, *args: str) -> tuple[float, dict]:
    start = time.monotonic()
    rc, data = master.apply(conf_dir, "mx1", *args)
    took = time.monotonic() - start
    states = data.get("mx1")
    if rc != 0 or not isinstance(states, dict):
        raise RuntimeError(f"state.apply {' '.join(args)} failed: {failed(states)}")
    changed = sorted(v["__id__"] for v in states.values() if v["changes"])
    return took, {"states": len(states), "changed": changed}


def failed(states) -> str:
    """The failing states of a return, by ID and comment (or the render error)."""
    if not isinstance(states, dict):
        return str(states)[:2000]
    bad = [
        f"{v.get('__id__', k)}: {str(v.get('comment'))[:300]}"
        for k, v in states.items()
        if not v["result"]
    ]
    return "; ".join(bad[:3]) + (f" (and {len(bad) - 3} more)" if len(bad) > 3 else "")


PER_MAILBOX = """\
bench-permailbox-{i}:
  cmd.run:
    - name: >-
        mariadb {db} -e "INSERT INTO virtual_users (domain_id, email, password)
        SELECT id, '{email}', '{hash}' FROM virtual_domains WHERE name = '{domain}'
        ON DUPLICATE KEY UPDATE password = VALUES(password)"
    - unless: >-
        mariadb {db} -N -e "SELECT 1 FROM virtual_users
        WHERE email = '{email}' AND password = '{hash}'" | grep -q 1
"""


def _per_mailbox(n: int, db: str) -> list[tuple[float, float]]:
    """The baseline for N mailboxes, first and second run: (seconds, of which in states)."""
    sls = "".join(
        PER_MAILBOX.format(
            i=i,
            db=db,
            email=f"pm{i}@{DOMAINS[i % 2]}",
            hash=HASH.replace("$", "\\$"),
            domain=DOMAINS[i % 2],
        )
        for i in range(n)
    )
    container.sh("mx1", "rm -rf /root/bench-sls && mkdir -p /root/bench-sls")
    container.exec_("mx1", "sh", "-c", "cat > /root/bench-sls/permailbox.sls", input=sls)
    runs = []
    for _ in range(2):
        start = time.monotonic()
        proc = container.exec_(
            "mx1", "salt-call", "--local", "--file-root=/root/bench-sls", "--out=json",
            "state.sls", "permailbox", timeout=3600, check=False,
        )  # fmt: skip
        wall = time.monotonic() - start
        states = json.loads(proc.stdout or "{}").get("local", {})
        if proc.returncode != 0 or len(states) != n:
            raise RuntimeError(f"the per-mailbox SLS failed: {failed(states)}")
        # the states' own time, and the rest (salt-call's start, the render): only the
        # states' part grows with the mailboxes
        in_states = sum(float(v.get("duration") or 0) for v in states.values()) / 1000
        runs.append((wall, in_states))
    container.exec_("mx1", "mariadb", db, "-e", "DELETE FROM virtual_users WHERE email LIKE 'pm%'")
    container.sh("mx1", "rm -rf /root/bench-sls")
    return runs


def run(n: int, base: int, conf_dir: Path = master.DEMO_DIR, highstates: bool = True) -> dict:
    """The figures for N mailboxes, the baseline measured on BASE; ``highstates=False``
    leaves out the two whole highstates (the smoke run in the system tests)."""
    top = config.LAB_PILLAR / "top.sls"
    before = top.read_text()
    bench = config.LAB_PILLAR / "bench.sls"
    out = {"mailboxes": n, "aliases": n // 10, "baseline_mailboxes": base}
    # the same with the example pillar: the 3x goal's baseline, and Salt's fixed part
    out["example_sync"], _ = _apply(conf_dir, "mailserver.accounts")
    if highstates:
        out["noop_highstate_example"], _ = _apply(conf_dir)
    try:
        bench.write_text("#!json\n" + json.dumps({"mailserver": accounts(n)}))
        top.write_text(before.replace("- lab", "- lab\n  - bench"))
        out["first_sync"], out["first_sync_detail"] = _apply(conf_dir, "mailserver.accounts")
        out["noop_sync"], out["noop_sync_detail"] = _apply(conf_dir, "mailserver.accounts")
        if highstates:
            out["noop_highstate"], out["noop_highstate_detail"] = _apply(conf_dir)
    finally:
        top.write_text(before)
        bench.unlink(missing_ok=True)
    out["removal"], out["removal_detail"] = _apply(conf_dir, "mailserver.accounts")
    (first, first_states), (noop, noop_states) = _per_mailbox(base, "mailserver")
    scale = n / base
    out["per_mailbox_first"] = first + first_states * (scale - 1)
    out["per_mailbox_noop"] = noop + noop_states * (scale - 1)
    out["per_mailbox_measured"] = {"first": first, "noop": noop}
    return out
