"""docs/configuration.md, made from salt/mailserver/parameters/defaults.yaml: every key, its
default and its meaning (the comment above it in the defaults). ``make docs`` writes it; a
test fails when the file and the defaults differ, so the reference cannot drift.

A mapping whose entries have no comment of their own (the kernel's sysctl settings, the
APT::Periodic values) is one key: its default is the whole mapping.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = REPO / "salt/mailserver/parameters/defaults.yaml"
OUT = REPO / "docs/configuration.md"
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[^\s#:][^:]*):(?: |$)")

HEADER = """\
# Configuration reference

Every key of the `mailserver` pillar, its default and what it means, made from
[`salt/mailserver/parameters/defaults.yaml`](../salt/mailserver/parameters/defaults.yaml)
by `make docs` (a test fails when the two differ). Pillar is merged over the defaults; a key
the formula does not know, or a value of the wrong type, stops the run before anything
changes, naming the key. [`pillar.example`](../pillar.example) shows the keys a user sets;
the others are facts of Debian 12 (packages, units, paths), overridable all the same.
Keys are written `section:key`, as in the error messages.
"""


def comments() -> dict[tuple[str, ...], str]:
    """``{key path: the comment lines right above it}`` from the defaults' text."""
    out, stack, pending = {}, [], []
    for line in DEFAULTS.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        match = _KEY.match(line)
        if not match or stripped.startswith("- "):
            pending = []
            continue
        depth = len(match["indent"]) // 2
        stack = [*stack[: depth - 1], match["key"].strip("'\"")] if depth else []
        if depth:
            out[tuple(stack)] = " ".join(pending)
        pending = []
    return out


def _value(value) -> str:
    if value is None:
        return "(none)"
    if value == "":
        return "''"
    text = yaml.safe_dump(value, default_flow_style=True, width=10000).strip()
    return text.removesuffix("\n...").removesuffix(" ...").strip()


def rows(tree=None, path=(), notes=None) -> list[tuple[str, str, str]]:
    """(key, default, meaning) of every key, in the defaults' order."""
    if tree is None:
        tree = yaml.safe_load(DEFAULTS.read_text())["values"]
        notes = comments()
    out = []
    for key, value in tree.items():
        here = (*path, key)
        own = notes.get(here, "")
        entries = isinstance(value, dict) and any(notes.get((*here, k)) for k in value)
        if entries:
            if own:
                out.append((":".join(here), "", own))
            out += rows(value, here, notes)
        else:
            out.append((":".join(here), _value(value), own))
    return out


def render() -> str:
    text = HEADER
    section = None
    for key, default, meaning in rows():
        top = key.split(":")[0] if ":" in key or not default else "the host and its accounts"
        if top != section:
            section = top
            title = top if " " in top else f"`{top}`"
            text += f"\n## {title}\n\n"
            if not default:  # the section's own key: its comment introduces the table
                text += f"{meaning}\n\n"
            text += "| key | default | meaning |\n| --- | --- | --- |\n"
        if not default and ":" not in key:
            continue
        cell = f"`{default}`".replace("|", "&#124;") if default else "(below)"
        text += f"| `{key}` | {cell} | {meaning.replace('|', '&#124;')} |\n"
    return text


def main() -> int:
    OUT.write_text(render())
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
