"""Lab hosts: Debian 12 booted with systemd as PID 1 under systemd-nspawn.

Each host's root is an overlay over its cached image, so a lab always starts from a
pristine image yet keeps its changes across a reboot. A small supervisor process runs
systemd-nspawn and starts it again when the container reboots (exit status 133), the way
systemd-nspawn@.service does on a real host. Everything a host leaves on the machine
(pid files, overlay, console log) lives under config.STATE/<name>/.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import config
from .sh import CommandError, log, run

REBOOT_STATUS = 133
# units of the boot's own bookkeeping whose failure says nothing about the host under test
# units of the boot's own bookkeeping that a loaded 2-core machine sometimes fails at boot
# (a timeout): started once more, not fatal
BOOKKEEPING = {
    "systemd-update-utmp.service",
    "systemd-update-utmp-runlevel.service",
    "systemd-user-sessions.service",
}
ENV = [
    "env",
    "-i",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "LANG=C.UTF-8",
    "TERM=dumb",
]


def hostdir(name: str) -> Path:
    return config.STATE / "hosts" / name


def root(name: str) -> Path:
    return hostdir(name) / "root"


def nspawn_argv(host: config.Host) -> list[str]:
    return [
        "systemd-nspawn",
        "--register=no",
        "--keep-unit",
        "--boot",
        f"--directory={root(host.name)}",
        f"--machine={host.name}",
        f"--hostname={host.fqdn}",
        f"--network-namespace-path=/run/netns/{host.netns}",
        "--resolv-conf=off",
        "--timezone=off",
        "--link-journal=no",
        "--console=read-only",
        # like a real host inside its own network namespace: a firewall and network sysctls
        # (the container's own netns only; with SYSTEMD_NSPAWN_API_VFS_WRITABLE=network)
        "--capability=CAP_NET_ADMIN",
        # FUSE for the encrypted mail store
        "--bind=/dev/fuse",
        "--property=DeviceAllow=/dev/fuse rwm",
        # the peer runs the tests' probes (real clients) from a read-only copy of lab/probes
        *([f"--bind-ro={config.PROBES}:{config.PEER_PROBES}"] if host.name == "peer" else []),
        # a masterless host has the formula as a user's clone would be: read-only here
        *([f"--bind-ro={config.FORMULA_SOURCE}:{config.FORMULA_DIR}"] if host.masterless else []),
    ]


def _pid(name: str, what: str) -> int | None:
    try:
        pid = int((hostdir(name) / f"{what}.pid").read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += [int(c) for c in (task / "children").read_text().split()]
    return kids


def leader(name: str) -> int | None:
    """PID (on the host) of the container's systemd, or None while it is not running."""
    nspawn = _pid(name, "nspawn")
    if nspawn is None:
        return None
    todo = _children(nspawn)
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        nspid = [line for line in status.splitlines() if line.startswith("NSpid:")]
        if nspid and nspid[0].split()[-1] == "1" and len(nspid[0].split()) > 2:
            return pid
        todo += _children(pid)
    return None


def prepare(host: config.Host, image_dir: Path) -> Path:
    """Mount the host's overlay root and write what makes it this host; its root."""
    d = hostdir(host.name)
    for sub in ("upper", "work", "root"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    run(
        "mount",
        "-t",
        "overlay",
        f"lab-{host.name}",
        "-o",
        f"lowerdir={image_dir},upperdir={d / 'upper'},workdir={d / 'work'}",
        str(root(host.name)),
    )
    r = root(host.name)
    short = host.name
    (r / "etc/hostname").write_text(host.fqdn + "\n")
    (r / "etc/hosts").write_text(
        f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        f"{host.ip4}\t{host.fqdn} {short}\n{host.ip6}\t{host.fqdn} {short}\n"
    )
    peer = config.HOSTS["peer"]
    (r / "etc/resolv.conf").write_text(
        f"search {config.LAB_DOMAIN}\nnameserver {peer.ip4}\nnameserver {peer.ip6}\n"
    )
    (r / "etc/apt/apt.conf.d/01lab-proxy").write_text(
        f'Acquire::http::Proxy "http://{config.HOST_IP4}:{config.APT_PROXY_PORT}";\n'
    )
    return r


def boot(host: config.Host) -> None:
    """Start the host's supervisor (which runs systemd-nspawn) and return at once."""
    d = hostdir(host.name)
    console = open(d / "console.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        # (the state directory named too: which slot's lab the supervisor belongs to)
        [sys.executable, "-m", "lab.container", host.name, str(config.STATE)],
        cwd=config.REPO,
        stdout=console,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(config.REPO)},
    )
    console.close()
    (d / "supervisor.pid").write_text(str(proc.pid))


def wait_running(name: str, timeout: float = 120) -> float:
    """Wait until systemd in the host reports running; return the seconds it took."""
    start = time.monotonic()
    deadline = start + timeout
    state = "not started"
    while time.monotonic() < deadline:
        if leader(name) is not None:
            proc = run(
                "nsenter",
                "-t",
                str(leader(name)),
                "-a",
                *ENV,
                "systemctl",
                "is-system-running",
                check=False,
                quiet=True,
                timeout=30,
            )
            state = proc.stdout.strip()
            if state == "running":
                return time.monotonic() - start
            if state == "degraded":
                failed = sh(name, "systemctl --failed --no-legend --plain", check=False).stdout
                units = {line.split()[0] for line in failed.splitlines() if line.strip()}
                if units and units <= BOOKKEEPING:
                    # seen once in three boots of three hosts on two cores: bookkeeping of
                    # the boot itself, nothing a mail host runs; noted, not fatal
                    log.warning("%s: %s failed at boot; started again", name, ", ".join(units))
                    sh(name, "systemctl restart " + " ".join(sorted(units)), check=False)
                    continue
                raise RuntimeError(f"{name} booted degraded; failed units:\n{failed}")
        time.sleep(0.5)
    raise TimeoutError(
        f"{name} not running after {timeout}s (last state: {state}); "
        f"console: {hostdir(name) / 'console.log'}"
    )


def exec_(
    name: str, *argv: str, check: bool = True, input: str | None = None, timeout: float = 600
):
    """Run argv inside the host, in all of its namespaces, with a clean environment."""
    pid = leader(name)
    if pid is None:
        raise RuntimeError(f"lab host {name} is not running")
    return run(
        "nsenter", "-t", str(pid), "-a", *ENV, *argv, check=check, input=input, timeout=timeout
    )


def sh(name: str, script: str, **kw):
    return exec_(name, "/bin/sh", "-c", script, **kw)


def reboot(name: str, timeout: float = 120) -> float:
    """Reboot the host for real (systemd shuts down, nspawn exits, the root boots again)."""
    old = leader(name)
    start = time.monotonic()
    with contextlib.suppress(CommandError, subprocess.TimeoutExpired):
        exec_(name, "systemctl", "reboot", check=False, timeout=30)
    deadline = start + timeout
    while time.monotonic() < deadline:
        new = leader(name)
        if new is not None and new != old:
            wait_running(name, deadline - time.monotonic())
            return time.monotonic() - start
        time.sleep(0.3)
    raise TimeoutError(f"{name} did not come back within {timeout}s")


def _kill(pid: int | None, sig: int) -> None:
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def stop(name: str, timeout: float = 20) -> None:
    """Power the host off (forcibly when it does not go), then unmount and remove its root."""
    _kill(_pid(name, "supervisor"), signal.SIGKILL)  # no restart from now on
    nspawn = _pid(name, "nspawn")
    init = leader(name)
    if nspawn is not None:
        _kill(nspawn, signal.SIGTERM)  # nspawn asks the container's systemd to power off
        if not _wait_gone(nspawn, timeout):
            _kill(init, signal.SIGKILL)  # takes the whole pid namespace with it
            _kill(nspawn, signal.SIGKILL)
            _wait_gone(nspawn, 5)
    d = hostdir(name)
    for what in ("supervisor", "nspawn"):
        (d / f"{what}.pid").unlink(missing_ok=True)


def mounts_under(path: Path) -> list[str]:
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target == str(path) or target.startswith(str(path) + "/"):
            found.append(target)
    return found


def cleanup_all() -> None:
    """Stop every lab host, including ones left by a killed run, and remove their roots."""
    hosts = config.STATE / "hosts"
    if hosts.is_dir():
        for d in hosts.iterdir():
            stop(d.name)
    # anything still running from our state directory (pid files lost, say)
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            cmd
            and cmd[0].endswith(b"systemd-nspawn")
            and any(str(hosts).encode() in c for c in cmd)
        ):
            _kill(int(proc.name), signal.SIGKILL)
    for target in sorted(mounts_under(hosts), key=len, reverse=True):
        run("umount", "-l", target, check=False)
    if hosts.is_dir():
        run("rm", "-rf", "--one-file-system", str(hosts))


def _supervise(name: str) -> int:
    """Run systemd-nspawn for host ``name``; boot again after a reboot."""
    host = config.HOSTS[name]
    d = hostdir(name)
    while True:
        proc = subprocess.Popen(
            nspawn_argv(host),
            stdin=subprocess.DEVNULL,
            env={**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"},
        )
        (d / "nspawn.pid").write_text(str(proc.pid))
        rc = proc.wait()
        print(f"[lab] systemd-nspawn for {name} exited {rc}", flush=True)
        if rc != REBOOT_STATUS:
            return rc


if __name__ == "__main__":
    # The supervisor must outlive SIGHUP/SIGINT aimed at the terminal that started the lab.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sys.exit(_supervise(sys.argv[1]))
