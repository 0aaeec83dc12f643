"""Fixtures shared by every tier: paths and the formula's example pillar."""

from __future__ import annotations

import pytest
import yaml

from lab import config as labconfig

REPO = labconfig.REPO


def pytest_collection_modifyitems(items):
    """Mark tests by tier from their folder, so ``-m`` selects a tier."""
    for item in items:
        parts = item.path.relative_to(REPO / "tests").parts
        if parts[0] in ("system", "integration"):
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def defaults():
    return yaml.safe_load((REPO / "salt/mailserver/parameters/defaults.yaml").read_text())["values"]


def pytest_sessionfinish(session, exitstatus):
    """Salt buffers early log records and writes them at exit to a stderr pytest has closed;
    hand them to the regular handlers now instead."""
    try:
        from salt._logging.impl import shutdown_temp_handler
    except ImportError:
        return
    shutdown_temp_handler()
