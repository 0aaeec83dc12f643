"""The whole lab: images, network, apt proxy and hosts, brought up and torn down as one."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from . import aptproxy, config, container, dns, image, network, peer
from .master import minion_config
from .sh import log, run


def cleanup() -> None:
    """Remove a lab, whole or half-built, left by this run or by a killed one."""
    container.cleanup_all()
    aptproxy.stop()
    network.down()


def leftovers() -> list[str]:
    """Everything a lab could leave on the host; empty after a clean teardown."""
    left = network.leftovers()
    left += [f"mount {m}" for m in container.mounts_under(config.STATE)]
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (
            "systemd-nspawn" in cmd.split(" ", 1)[0]
            or ("apt-cacher-ng" in cmd and str(aptproxy.CONF) in cmd)
            or "lab.container" in cmd
        ):
            left.append(f"process {proc.name}: {cmd.strip()}")
    return left


def build_images() -> dict[str, Path]:
    return {name: image.image(name) for name in config.IMAGES}


def up(start_master: Callable[[], tuple[int, int]]) -> dict[str, float]:
    """Bring the lab up, start the master with ``start_master()`` once the lab network exists
    (it listens there) and point mx1's minion at the (ret_port, publish_port) it returns.

    Returns timings in seconds (images, whole bring-up) for the report.
    """
    t0 = time.monotonic()
    cleanup()
    images = build_images()
    t_images = time.monotonic() - t0
    network.up()
    aptproxy.start()
    write_lab_pillar({})
    minion_conf = minion_config(*start_master())
    for host in config.HOSTS.values():
        container.prepare(host, images[host.image], minion_conf if host.minion else None)
        if host.name == "peer":
            peer.configure(container.root(host.name))
        container.boot(host)
    with ThreadPoolExecutor(len(config.HOSTS)) as pool:
        list(pool.map(container.wait_running, config.HOSTS))
    write_lab_pillar(dns.lab_pillar(dns.root_anchor()))
    total = time.monotonic() - t0
    log.info("lab up in %.1fs (images %.1fs)", total, t_images)
    return {"images": t_images, "up": total}


def write_lab_pillar(data: dict) -> None:
    """The lab's own pillar (config.LAB_PILLAR), merged over the example pillar."""
    config.LAB_PILLAR.mkdir(parents=True, exist_ok=True)
    (config.LAB_PILLAR / "top.sls").write_text(
        yaml.safe_dump({"base": {"mx*": ["mailserver", "lab"]}})
    )
    (config.LAB_PILLAR / "lab.sls").write_text(
        "# written by the lab (lab/lab.py): facts only the running lab knows\n"
        + yaml.safe_dump(data)
    )


def down() -> None:
    cleanup()
    left = leftovers()
    if left:
        raise RuntimeError("lab teardown left: " + "; ".join(left))


def exec_(host: str, *argv: str, **kw):
    return container.exec_(host, *argv, **kw)


def sh(host: str, script: str, **kw):
    return container.sh(host, script, **kw)


def reboot(host: str) -> float:
    return container.reboot(host)


def shell(host: str) -> None:
    """An interactive login shell inside a lab host."""
    pid = container.leader(host)
    if pid is None:
        raise SystemExit(f"lab host {host} is not running (make demo brings it up)")
    import os

    os.execvp(
        "nsenter",
        [
            "nsenter",
            "-t",
            str(pid),
            "-a",
            *container.ENV[:-1],
            "TERM=" + os.environ.get("TERM", "xterm"),
            "/bin/bash",
            "-l",
        ],
    )


def status() -> dict[str, str]:
    return {name: ("running" if container.leader(name) else "stopped") for name in config.HOSTS}


__all__ = ["cleanup", "down", "exec_", "leftovers", "reboot", "run", "sh", "shell", "status", "up"]
