"""The whole lab: images, network, apt proxy and hosts, brought up and torn down as one."""

from __future__ import annotations

import fcntl
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from . import aptproxy, config, container, dns, image, master, network, peer
from .sh import log, run


def cleanup() -> None:
    """Remove a lab, whole or half-built, left by this run or by a killed one."""
    master.demo_stop()  # it listens on the lab's address
    container.cleanup_all()
    aptproxy.stop()
    network.down()


def _ours(cmdline: str) -> bool:
    """Whether a process is the lab's: it names the lab's state directory (nspawn's root,
    the apt proxy's and the demo master's configuration, a host's supervisor). Other
    containers on the machine, and the other slot's lab, are not this lab's business."""
    return re.search(re.escape(str(config.STATE)) + r"(/|\s|$)", cmdline) is not None


def leftovers(processes: dict[int, str] | None = None) -> list[str]:
    """Everything of the lab still on the host; empty after a clean teardown. ``processes``
    (pid: command line) defaults to the machine's."""
    left = network.leftovers()
    left += [f"mount {m}" for m in container.mounts_under(config.STATE)]
    if processes is None:
        processes = {}
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                raw = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            processes[int(proc.name)] = raw.replace(b"\0", b" ").decode(errors="replace")
    left += [f"process {pid}: {cmd.strip()}" for pid, cmd in processes.items() if _ours(cmd)]
    return left


def build_images() -> dict[str, Path]:
    """The lab's images, built when missing; one slot builds while the other waits (they
    share config.CACHE)."""
    config.CACHE.mkdir(parents=True, exist_ok=True)
    with open(config.CACHE / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return {name: image.image(name) for name in config.IMAGES}


def up(start_master: Callable[[], Path]) -> dict[str, float]:
    """Bring the lab up, start the master with ``start_master()`` once the lab network exists
    (it listens there; it returns its pki directory, where the minions' keys are preseeded).

    Returns timings in seconds (images, whole bring-up) for the report.
    """
    t0 = time.monotonic()
    cleanup()
    images = build_images()
    t_images = time.monotonic() - t0
    network.up()
    aptproxy.start()
    write_lab_pillar({})
    pki = start_master()
    for host in config.HOSTS.values():
        root = container.prepare(host, images[host.image])
        if host.minion:
            _minion(root, host, pki)
        elif host.masterless:
            _masterless(root, host)
        if host.name == "peer":
            peer.configure(root)
        container.boot(host)
    with ThreadPoolExecutor(len(config.HOSTS)) as pool:
        list(pool.map(container.wait_running, config.HOSTS))
    anchor = dns.lab_pillar(dns.root_anchor())
    write_lab_pillar(anchor)
    for host in config.HOSTS.values():
        if host.masterless:
            write_masterless_pillar(host.name, anchor)
    total = time.monotonic() - t0
    log.info("lab up in %.1fs (images %.1fs)", total, t_images)
    return {"images": t_images, "up": total}


def rebuild(name: str, pki: Path) -> float:
    """Destroy a minion host and build a fresh one of the same name from its image (a new
    disk, a new minion key, accepted on the master as an admin accepts a rebuilt host's);
    seconds until it runs."""
    host = config.HOSTS[name]
    container.stop(name)
    d = container.hostdir(name)
    for target in sorted(container.mounts_under(d), key=len, reverse=True):
        run("umount", "-l", target)
    run("rm", "-rf", "--one-file-system", str(d))
    root = container.prepare(host, image.image(host.image))
    _minion(root, host, pki)
    container.boot(host)
    return container.wait_running(name)


def _minion(root: Path, host: config.Host, pki: Path) -> None:
    """A minion of the lab's master: its address is all the configuration it has."""
    (root / "etc/salt/minion.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/salt/minion.d/master.conf").write_text(master.minion_config())
    (root / "etc/salt/minion_id").write_text(host.name)
    master.preseed(pki, host.name, root / "etc/salt/pki/minion")


def _masterless(root: Path, host: config.Host) -> None:
    """A masterless host: the formula under FORMULA_DIR (bound read-only by nspawn), its
    configuration as docs/install.md says, no minion daemon."""
    (root / "etc/salt/minion.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/salt/minion.d/mailserver.conf").write_text(master.masterless_config())
    (root / "etc/salt/minion_id").write_text(host.name)
    wants = root / "etc/systemd/system/multi-user.target.wants/salt-minion.service"
    wants.unlink(missing_ok=True)


def write_masterless_pillar(name: str, lab: dict, mailserver: dict | None = None) -> None:
    """The pillar of masterless host ``name``: the example pillar for its own host name (or
    ``mailserver``), and the lab's facts ``lab``."""
    pillar = container.root(name) / config.MASTERLESS_PILLAR.lstrip("/")
    pillar.mkdir(parents=True, exist_ok=True)
    pillar.chmod(0o700)
    if mailserver is None:
        doc = yaml.safe_load(config.example_pillar())
        doc["mailserver"]["hostname"] = config.HOSTS[name].fqdn
    else:
        doc = {"mailserver": mailserver}
    (pillar / "top.sls").write_text(yaml.safe_dump({"base": {"*": ["mailserver", "lab"]}}))
    (pillar / "mailserver.sls").write_text(yaml.safe_dump(doc))
    (pillar / "lab.sls").write_text(yaml.safe_dump(lab))


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
