"""Running commands: one helper, so failures always say what ran and what it printed."""

from __future__ import annotations

import logging
import subprocess

log = logging.getLogger("mslab")


class CommandError(RuntimeError):
    pass


def run(
    *argv: str,
    check: bool = True,
    input: str | None = None,
    timeout: float | None = 600,
    quiet: bool = False,
) -> subprocess.CompletedProcess:
    """Run argv (never through a shell); raise CommandError with its output on failure."""
    if not quiet:
        log.debug("run: %s", " ".join(argv))
    proc = subprocess.run(
        list(argv), input=input, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise CommandError(
            f"{' '.join(argv)} exited {proc.returncode}\n"
            f"stdout: {proc.stdout[-4000:]}\nstderr: {proc.stderr[-4000:]}"
        )
    return proc


def ok(*argv: str) -> bool:
    return run(*argv, check=False, quiet=True).returncode == 0
