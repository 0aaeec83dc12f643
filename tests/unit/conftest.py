"""Unit tier: the execution modules loaded as plain Python, Salt's dunders stubbed."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import REPO


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"unit_{name}", REPO / "_modules" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def accounts():
    return load("mailserver_accounts")


@pytest.fixture
def mod(accounts):
    module = load("mailserver")
    module.__grains__ = {"fqdn": "mail.example.org"}
    module.__salt__ = {"mailserver_accounts.validate": accounts.validate}
    return module
