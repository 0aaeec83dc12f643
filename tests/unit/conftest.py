"""Unit tier: the execution modules loaded as plain Python, wired to each other through one
``__salt__`` as Salt's loader wires them, with grains, options and a context of the test's
choosing. No daemon, no service, no network."""

from __future__ import annotations

import importlib.util
import inspect

import pytest

from tests.conftest import REPO

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJWUMTS/syQoodXVC6DuUNMnn/PVmGb8LIlzFP973B6n x"
ADMIN = {"admin": {"name": "ops", "ssh_keys": [KEY]}}
GRAINS = {
    "id": "mx1",
    "osmajorrelease": 12,
    "fqdn": "mail.example.org",
    "ipv4": ["127.0.0.1", "198.51.100.10"],
    "ipv6": ["::1", "fe80::1", "2001:db8:100::10"],
    "dns": {"nameservers": ["198.51.100.20"]},
}
MODULES = [
    "mailserver",
    "mailserver_accounts",
    "mailserver_backup",
    "mailserver_bind",
    "mailserver_cluster",
    "mailserver_dkim",
    "mailserver_dns",
    "mailserver_firewall",
    "mailserver_status",
    "mailserver_spam",
    "mailserver_store",
]
UTILS = ["mailserver_secret", "mailserver_seal"]


def load(name: str, kind: str = "_modules"):
    spec = importlib.util.spec_from_file_location(f"unit_{kind}_{name}", REPO / kind / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Minion:
    """The formula's modules with one ``__salt__``, ``__context__``, ``__grains__`` and
    ``__opts__`` between them. ``salt`` takes stand-ins for Salt's own functions."""

    def __init__(self, opts: dict | None = None):
        self.salt: dict = {}
        self.context: dict = {}
        self.grains = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in GRAINS.items()}
        self.opts = {"id": "mx1", **(opts or {})}
        self.mods: dict = {}
        # the formula's utils, as Salt's loader hands them to execution modules
        self.utils: dict = {}
        for name in UTILS:
            util = load(name, "_utils")
            self.utils.update(
                {
                    f"{name}.{a}": f
                    for a, f in vars(util).items()
                    if inspect.isfunction(f) and not a.startswith("_")
                }
            )
        for name in MODULES:
            self.load(name)

    def load(self, name: str):
        module = load(name)
        module.__salt__ = self.salt
        module.__context__ = self.context
        module.__grains__ = self.grains
        module.__opts__ = self.opts
        module.__utils__ = self.utils
        virtual = getattr(module, "__virtualname__", name)
        for attr, fn in vars(module).items():
            if (
                inspect.isfunction(fn)
                and not attr.startswith("_")
                and fn.__module__ == module.__name__
            ):
                self.salt[f"{virtual}.{attr}"] = fn
        self.mods[name] = module
        return module


@pytest.fixture
def minion(tmp_path):
    return Minion({"mailserver_settings_file": str(tmp_path / "settings.json")})


@pytest.fixture
def mod(minion):
    return minion.mods["mailserver"]


@pytest.fixture
def accounts(minion):
    return minion.mods["mailserver_accounts"]


@pytest.fixture
def model(mod, defaults):
    """The model of the example-like mail host mx1.example.com (example.com, example.org)."""

    def build(**pillar):
        base = {**ADMIN, "hostname": "mx1.example.com", "domains": ["example.com", "example.org"]}
        return mod.settings(defaults, {**base, **pillar})

    return build
