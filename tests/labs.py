"""``make test``: every test, the system tier shared out between two labs side by side.

The lab mostly waits (for Postfix's queue, for a service to restart, for a client's
timeout), so one 2-core machine runs two labs at once in about the time of one. Two pytest
processes, each with its own lab (``MSLAB_SLOT``, lab/config.py):

* lab 0: every test but the modules in ``SECOND_LAB`` (the fast and integration tiers too);
* lab 1: the modules in ``SECOND_LAB``, then ``test_secrets.py`` (each lab's secrets sweep
  searches what that lab's tests used).

Every module runs in exactly one lab (a new module runs in lab 0); ``pytest tests`` still runs
everything in one lab. Each process's lines are printed as they come, prefixed with its lab;
each ends with its own summary, tables and slowest tests. At the very end each lab's short
summary (what failed, erred or was expected to fail, and its last line) is printed again, so
the tail of the output says why ``make test`` failed whichever lab ended last; the exit
status is non-zero when either failed. Arguments are handed to both pytest runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SYSTEM = Path("tests/system")
# lab 1's share, chosen by the durations of the last full run so both labs end together
SECOND_LAB = (
    "test_acme.py",
    "test_backup.py",
    "test_faults.py",
    "test_firewall.py",
    "test_hardening.py",
    "test_load.py",
    "test_multihost.py",
    "test_webmail.py",
)
IN_BOTH = ("test_secrets.py",)
SUMMARY_LINES = 80  # at most this many of a lab's summary lines are repeated at the end


def commands(args: list[str]) -> dict[int, list[str]]:
    pytest = [sys.executable, "-m", "pytest", *args]
    ignore = [f"--ignore={SYSTEM / name}" for name in SECOND_LAB]
    return {
        0: [*pytest, "tests", *ignore],
        1: [*pytest, *(str(SYSTEM / name) for name in (*SECOND_LAB, *IN_BOTH))],
    }


def summary(lines: list[str]) -> list[str]:
    """A pytest run's short test summary and its last line, from its output."""
    start = next(
        (i for i in range(len(lines) - 1, -1, -1) if "short test summary info" in lines[i]),
        None,
    )
    picked = lines[start:] if start is not None else lines[-1:]
    if len(picked) > SUMMARY_LINES:
        left = len(picked) - SUMMARY_LINES + 2
        picked = [*picked[: SUMMARY_LINES - 2], f"... {left} more lines\n", picked[-1]]
    return picked


def _relay(slot: int, proc: subprocess.Popen, lock: threading.Lock, ended: dict, seen: dict):
    tail = seen.setdefault(slot, [])
    for line in proc.stdout:
        tail.append(line)
        if len(tail) > 4000:  # the summary is at the end; the rest was printed already
            del tail[:2000]
        with lock:
            sys.stdout.write(f"[lab{slot}] {line}")
            sys.stdout.flush()
    ended[slot] = time.monotonic()  # its output ends as it exits


def _cpu() -> tuple[int, int]:
    """The machine's busy and total CPU time so far (clock ticks, all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def main(args: list[str]) -> int:
    missing = [n for n in (*SECOND_LAB, *IN_BOTH) if not (REPO / SYSTEM / n).is_file()]
    if missing:
        print(f"tests/labs.py names modules that do not exist: {missing}", file=sys.stderr)
        return 2
    start, cpu_start = time.monotonic(), _cpu()
    lock = threading.Lock()
    procs, relays, ended, seen = {}, [], {}, {}
    for slot, argv in commands(args).items():
        env = {**os.environ, "MSLAB_SLOT": str(slot), "PYTHONUNBUFFERED": "1"}
        procs[slot] = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
        relay = threading.Thread(target=_relay, args=(slot, procs[slot], lock, ended, seen))
        relay.start()
        relays.append(relay)
    codes = {slot: proc.wait() for slot, proc in procs.items()}
    for relay in relays:
        relay.join()
    wall = time.monotonic() - start
    busy, total = (end - begin for end, begin in zip(_cpu(), cpu_start, strict=True))
    for slot in procs:
        for line in summary(seen.get(slot, [])):
            sys.stdout.write(f"[lab{slot} summary] {line}")
    verdict = ", ".join(
        f"lab{s} exit {c} after {(ended[s] - start) / 60:.1f} min" for s, c in codes.items()
    )
    print(
        f"make test: {verdict}; {wall / 60:.1f} min wall; the {os.cpu_count()} cores "
        f"{100 * busy / max(total, 1):.0f} % busy"
    )
    return next((c for c in codes.values() if c), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
