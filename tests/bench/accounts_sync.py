"""Benchmark body, run inside mx1 by Salt's own Python (see tests/bench/run.py).

Syncs generated account sets into a scratch database through the formula's execution
module, as the state does, and prints the timings as JSON.
"""

import json
import sys
import time

import salt.config
import salt.loader

DB = "mailserver_bench"
HASH = "{SHA512-CRYPT}$6$benchsalt$" + "A" * 86


def accounts(n_mailboxes, n_domains=10, changed=0, removed=0, added=0):
    domains = [f"bench{i}.example" for i in range(n_domains)]
    boxes = {}
    for i in range(n_mailboxes - removed):
        pw = HASH if i >= changed else HASH.replace("AAAA", "BBBB", 1)
        boxes[f"user{i}@{domains[i % n_domains]}"] = {"password_hash": pw, "quota": "1G"}
    for i in range(added):
        boxes[f"new{i}@{domains[0]}"] = {"password_hash": HASH}
    aliases = {
        f"alias{i}@{domains[i % n_domains]}": f"user{i}@{domains[i % n_domains]}"
        for i in range(n_mailboxes // 10)
    }
    return {"domains": domains, "mailboxes": boxes, "aliases": aliases}


def main():
    opts = salt.config.minion_config("/etc/salt/minion")
    opts["file_client"] = "local"
    mods = salt.loader.minion_mods(opts, utils=salt.loader.utils(opts))
    mods["mailserver_db.create_schema"](DB)
    sync = mods["mailserver_accounts.sync"]
    results = {}

    def timed(name, acc, repeat=1):
        best = None
        for _ in range(repeat):
            start = time.perf_counter()
            ops = sync(acc, DB)
            took = time.perf_counter() - start
            best = took if best is None else min(best, took)
        results[name] = {"seconds": best, "ops": {k: len(v) for k, v in ops.items()}}

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    timed("baseline: 3 mailboxes, first sync", accounts(3, 1))
    timed("baseline: 3 mailboxes, nothing to change", accounts(3, 1), repeat=5)
    # start from an empty database for the large set
    with mods["mailserver_db.connect"](DB) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM virtual_domains")
    timed(f"{n} mailboxes, first sync", accounts(n))
    timed(f"{n} mailboxes, nothing to change", accounts(n), repeat=5)
    timed(
        f"{n} mailboxes, 100 passwords + 100 removed + 100 added",
        accounts(n, changed=100, removed=100, added=100),
    )
    start = time.perf_counter()
    mods["mailserver_accounts.validate"](accounts(n))
    results[f"{n} mailboxes, checking the pillar alone"] = {
        "seconds": time.perf_counter() - start,
        "ops": {},
    }
    with mods["mailserver_db.connect"]() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE {DB}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
