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


# seconds per test module (setup, call and teardown of its tests): how tests/labs.py shares
# the modules out between the two labs
MODULE_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    module = report.nodeid.split("::")[0]
    MODULE_SECONDS[module] = MODULE_SECONDS.get(module, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    slow = sorted(MODULE_SECONDS.items(), key=lambda kv: -kv[1])
    if len(slow) > 1:
        terminalreporter.write_sep("-", "seconds per module")
        for module, seconds in slow[:25]:
            terminalreporter.write_line(f"{seconds:8.1f}  {module}")


def pytest_sessionfinish(session, exitstatus):
    """Salt buffers early log records and writes them at exit to a stderr pytest has closed;
    hand them to the regular handlers now instead."""
    try:
        from salt._logging.impl import shutdown_temp_handler
    except ImportError:
        return
    shutdown_temp_handler()
