"""Run inside mx1 (Debian's python3): rspamd's throughput against SpamAssassin's on one
corpus, on the same host. Prints JSON.

The corpus is generated here from text Debian ships (the licenses under
/usr/share/common-licenses), never downloaded: N messages of a few paragraphs each, one in
ten with the phrases of classic spam. SpamAssassin 4.0 (Debian's spamassassin, spamd with as
many children as the host has cores) is installed for the run and removed after it. Both
filters are asked over their own client protocol (rspamc to rspamd's normal worker, spamc to
spamd), as many clients at once as the host has cores, each message once.
"""

from __future__ import annotations

import glob
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formatdate

SPAMMY = (
    "Congratulations! You have been selected to receive a FREE prize. Act now: click here "
    "to claim your cash bonus, limited time offer, 100% guaranteed, no credit check. "
    "Buy cheap meds online, best price, order today and lose weight fast!!!"
)


def corpus(n: int, where: str) -> list[str]:
    paragraphs = []
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as fh:
                paragraphs += [p.strip() for p in fh.read().split("\n\n") if len(p.strip()) > 80]
    rng = random.Random(1)
    files = []
    for i in range(n):
        msg = EmailMessage()
        msg["From"] = f"sender{i % 37}@example.net"
        msg["To"] = "alice@example.com"
        msg["Subject"] = " ".join(rng.choice(paragraphs).split()[:6])
        msg["Date"] = formatdate()
        msg["Message-ID"] = f"<bench-{i}@example.net>"
        body = "\n\n".join(rng.sample(paragraphs, 3))
        if i % 10 == 0:
            body = SPAMMY + "\n\n" + body
        msg.set_content(body)
        path = os.path.join(where, f"{i:05d}.eml")
        with open(path, "wb") as fh:
            fh.write(bytes(msg))
        files.append(path)
    return files


def timed(files: list[str], argv: list[str], workers: int) -> float:
    """Seconds to scan every file, ``workers`` clients at once; a failed scan is an error
    (spamc -c exits 1 for spam, which is a verdict, not a failure)."""

    def one(path):
        with open(path, "rb") as fh:
            proc = subprocess.run(argv, stdin=fh, stdout=subprocess.DEVNULL, timeout=120)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{argv[0]} failed on {path}: {proc.returncode}")

    start = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, files))
    return time.monotonic() - start


def sh(script: str) -> None:
    subprocess.run(["sh", "-c", script], check=True, timeout=900)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    cores = os.cpu_count() or 1
    out = {"messages": n, "cores": cores}
    with tempfile.TemporaryDirectory() as where:
        files = corpus(n, where)
        sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q spamassassin spamc >/dev/null")
        try:
            sh(
                f"spamd --daemonize --max-children={cores} --min-children={cores} "
                "--listen=127.0.0.1:7830 --pidfile=/run/bench-spamd.pid --username=nobody "
                "--syslog=stderr 2>/dev/null"
            )
            spamc = ["spamc", "-d", "127.0.0.1", "-p", "7830", "-c", "-x"]
            deadline = time.monotonic() + 120
            while subprocess.run(spamc, input=b"x", capture_output=True).returncode not in (0, 1):
                if time.monotonic() > deadline:
                    raise SystemExit("spamd did not start")
                time.sleep(0.5)
            warm = files[: max(1, n // 20)]  # both filters warmed on the same few messages
            rspamc = ["rspamc", "-h", "127.0.0.1:11333", "symbols"]
            timed(warm, rspamc, cores)
            timed(warm, spamc, cores)
            out["rspamd_seconds"] = timed(files, rspamc, cores)
            out["spamassassin_seconds"] = timed(files, spamc, cores)
        finally:
            sh("[ -f /run/bench-spamd.pid ] && kill $(cat /run/bench-spamd.pid) || true")
            sh(
                "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q spamassassin spamc "
                "sa-compile >/dev/null 2>&1 || true"
            )
    for name in ("rspamd", "spamassassin"):
        out[f"{name}_per_second_per_core"] = n / out[f"{name}_seconds"] / cores
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
