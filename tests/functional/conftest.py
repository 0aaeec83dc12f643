"""Functional tier: Salt's loaders on this machine with the formula's file and pillar roots."""

from __future__ import annotations

import pytest
from saltfactories.utils.functional import Loaders

from tests.conftest import REPO


@pytest.fixture(scope="session")
def minion_opts(salt_factories):
    factory = salt_factories.salt_minion_daemon(
        "mx1-functional",
        overrides={
            "file_client": "local",
            "file_roots": {"base": [str(REPO / "salt")]},
            "pillar_roots": {"base": [str(REPO / "pillar")]},
            # loads _modules/ and _states/ without a sync
            "module_dirs": [str(REPO)],
        },
    )
    return factory.config.copy()


@pytest.fixture(scope="session")
def session_loaders(minion_opts):
    return Loaders(minion_opts)


@pytest.fixture
def loaders(session_loaders):
    try:
        yield session_loaders
    finally:
        session_loaders.reset_state()


@pytest.fixture
def modules(loaders):
    return loaders.modules
