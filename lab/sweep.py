"""What the secrets sweep (tests/system/test_secrets.py) searches besides files: the salt
master's event bus, recorded for the whole run, and the process arguments on a mail host,
sampled while it runs (each distinct command line once)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from . import container, master

ARGV_SEEN = "/var/tmp/lab-argv-seen"  # on the host: survives its reboots
SAMPLER_UNIT = "lab-argv-sampler"
# every process's command line, each distinct one written once; bounded: it stops after
# four hours or 200,000 distinct lines, whichever comes first
SAMPLER = f"""
import os, time
seen, end = set(), time.monotonic() + 4 * 3600
with open("{ARGV_SEEN}", "a") as out:
    while time.monotonic() < end and len(seen) < 200000:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{{pid}}/cmdline", "rb") as fh:
                    line = fh.read().replace(b"\\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            if line and line not in seen:
                seen.add(line)
                out.write(line + "\\n")
                out.flush()
        time.sleep(0.05)
"""


def ensure_sampler(host: str = "mx1") -> None:
    """Start sampling ``host``'s process arguments unless it already is (a reboot stops
    it; the lines seen before stay in ARGV_SEEN)."""
    if container.leader(host) is None:
        return
    active = container.sh(host, f"systemctl is-active {SAMPLER_UNIT}", check=False)
    if active.stdout.strip() != "active":
        container.sh(host, f"systemctl reset-failed {SAMPLER_UNIT} 2>/dev/null; true")
        container.exec_(
            host, "systemd-run", "--quiet", f"--unit={SAMPLER_UNIT}", "python3", "-c", SAMPLER
        )


class EventRecorder:
    """``salt-run state.event`` against the master, every event written to a file."""

    def __init__(self, conf_dir: Path, path: Path):
        self.path = path
        self._out = open(path, "ab")  # noqa: SIM115 (open for the recorder's lifetime)
        self._proc = subprocess.Popen(
            [master._bin("salt-run"), "-c", str(conf_dir), "state.event", "pretty=False"],
            stdout=self._out,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._out.close()
