"""Debian 12 images for the lab, built with mmdebstrap and cached by their inputs.

An image is rebuilt only when what goes into it changes: its package list, the files
under ``rootfs/``, the customize script, the pinned Python requirements and mmdebstrap's
version. Images and wheels live under ``config.CACHE``, outside any clone, so CI's fresh
clones reuse them.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

from . import config
from .sh import log, run

HERE = Path(__file__).resolve().parent
CUSTOMIZE = HERE / "customize.sh"


def minion_requirements() -> list[str]:
    """Pins the minion's Python needs: salt plus the formula's own libraries."""
    wanted = {"salt", "passlib", "pymysql", "dnspython", "jinja2", "argon2-cffi"}
    pins = []
    for line in (config.REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and line.split("==")[0].lower() in wanted:
            pins.append(line)
    return sorted(pins)


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _tree_digest(root: Path) -> str:
    parts: list[str | bytes] = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            parts += [str(p.relative_to(root)), p.read_bytes(), oct(p.stat().st_mode & 0o777)]
    return _digest(*parts)


def wheels() -> Path:
    """Wheels of the minion's requirements, built on the host (the lab has no index)."""
    reqs = minion_requirements()
    out = config.CACHE / "wheels" / _digest(*reqs, sys.version)
    if (out / ".complete").exists():
        return out
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log.info("building wheels for the lab minion: %s", " ".join(reqs))
    run(sys.executable, "-m", "pip", "wheel", "-q", "-w", str(tmp), *reqs, timeout=1200)
    (tmp / "requirements.txt").write_text("\n".join(reqs) + "\n")
    (tmp / ".complete").touch()
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def _key(name: str, wheel_dir: Path | None) -> str:
    packages = config.IMAGES[name]
    mmdebstrap = run("mmdebstrap", "--version").stdout.strip()
    return _digest(
        name,
        config.SUITE,
        " ".join(packages),
        CUSTOMIZE.read_bytes(),
        _tree_digest(HERE / "rootfs" / name),
        mmdebstrap,
        wheel_dir.name if wheel_dir else "",
    )


def image(name: str) -> Path:
    """Path of the built image ``name`` (building it first when its inputs changed)."""
    wheel_dir = wheels() if name == "base" else None
    out = config.CACHE / "images" / f"{name}-{_key(name, wheel_dir)}"
    if (out / ".complete").exists():
        return out
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    log.info("building image %s with mmdebstrap (a few minutes the first time)", name)
    sources = [
        f"deb {config.DEBIAN_MIRROR} {config.SUITE} main",
        f"deb {config.DEBIAN_MIRROR} {config.SUITE}-updates main",
        f"deb {config.DEBIAN_SECURITY} {config.SUITE}-security main",
    ]
    argv = [
        "mmdebstrap",
        "--variant=minbase",
        "--mode=root",
        "--format=directory",
        "--include=" + ",".join(config.IMAGES[name]),
        f"--customize-hook=sync-in {HERE / 'rootfs' / name} /",
    ]
    if wheel_dir:
        argv += [
            '--customize-hook=mkdir -p "$1/opt/wheels"',
            f"--customize-hook=sync-in {wheel_dir} /opt/wheels",
        ]
    argv += [f'--customize-hook={CUSTOMIZE} "$1" {name}', config.SUITE, str(tmp), *sources]
    run(*argv, timeout=1800)
    (tmp / ".complete").touch()
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    _prune(name, keep=out)
    return out


def _prune(name: str, keep: Path) -> None:
    """Drop older builds of the same image so the cache does not grow without bound."""
    for old in (config.CACHE / "images").glob(f"{name}-*"):
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
