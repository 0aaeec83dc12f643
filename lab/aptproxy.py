"""apt-cacher-ng on the host, bound to the lab side only, caching under config.CACHE (one per
lab slot)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from . import config
from .sh import log

CONF = config.STATE / "apt-cacher-ng"
PIDFILE = config.STATE / "run" / "apt-cacher-ng.pid"


def _cache() -> Path:
    """This slot's cache. Two proxies never share one (both could write the same file); the
    second slot's starts as a copy of the first's, so it downloads nothing the first has."""
    first = config.CACHE / "apt-cacher-ng"
    cache = first if config.SLOT == 0 else first.with_name(f"{first.name}-{config.SLOT}")
    if not cache.is_dir() and first.is_dir():
        tmp = cache.with_name(cache.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["cp", "-a", str(first), str(tmp)], check=True)
        tmp.rename(cache)
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def _write_conf() -> None:
    CONF.mkdir(parents=True, exist_ok=True)
    cache = _cache()
    (CONF / "log").mkdir(exist_ok=True)
    for old in (CONF / "log").glob("apt-cacher.*"):  # each lab's log starts empty
        old.unlink()
    # The Debian backend must be named explicitly: with Debian's empty default file the
    # proxy answers "503 Host not found" for deb.debian.org.
    (CONF / "backends_debian").write_text(config.DEBIAN_MIRROR + "/\n")
    (CONF / "acng.conf").write_text(
        f"CacheDir: {cache}\n"
        f"LogDir: {CONF / 'log'}\n"
        "SupportDir: /usr/lib/apt-cacher-ng\n"
        f"BindAddress: {config.HOST_IP4} {config.HOST_IP6}\n"
        f"Port: {config.APT_PROXY_PORT}\n"
        "Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian\n"
        "Remap-secdeb: security.debian.org security.debian.org/debian-security "
        "deb.debian.org/debian-security /debian-security ; deb.debian.org/debian-security\n"
        "ExThreshold: 4\n"
        "PassThroughPattern: ^$\n"
        f"PidFile: {PIDFILE}\n"
    )


def start() -> None:
    _write_conf()
    PIDFILE.parent.mkdir(parents=True, exist_ok=True)
    log_path = CONF / "log" / "daemon.out"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            ["/usr/sbin/apt-cacher-ng", "-c", str(CONF), "ForeGround=1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    PIDFILE.write_text(str(proc.pid))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection((config.HOST_IP4, config.APT_PROXY_PORT), 1).close()
            log.info("apt proxy on %s:%s", config.HOST_IP4, config.APT_PROXY_PORT)
            return
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    raise RuntimeError(f"apt-cacher-ng did not start; see {log_path}")


def stop() -> None:
    try:
        pid = int(PIDFILE.read_text())
    except (OSError, ValueError):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
    PIDFILE.unlink(missing_ok=True)
