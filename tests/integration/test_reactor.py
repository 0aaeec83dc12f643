"""Integration tier: real salt-master and salt-minion daemons on this machine.

The minion-start reactor must hand a freshly started minion the formula's custom modules,
so that ``state.apply <sls>`` (which does not sync) works right after a boot.
"""

from __future__ import annotations

import time

import pytest

from tests.lab import master as labmaster


@pytest.fixture(scope="module")
def master(salt_factories):
    overrides = labmaster.config()
    overrides["interface"] = "127.0.0.1"
    factory = salt_factories.salt_master_daemon("reactor-master", overrides=overrides)
    with factory.started(start_timeout=120):
        yield factory


@pytest.fixture(scope="module")
def minion(master):
    factory = master.salt_minion_daemon("mail-reactor-minion")
    with factory.started(start_timeout=120):
        yield factory


def test_minion_start_reactor_syncs_the_formula_modules(master, minion):
    cli = master.salt_cli(timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ret = cli.run("mailserver.is_hostname", "mx1.example.com", minion_tgt=minion.id)
        if ret.returncode == 0 and ret.data is True:
            break
        time.sleep(2)
    else:
        pytest.fail(f"the reactor never synced _modules to the minion: {ret.stdout} {ret.stderr}")
    # and the module really is ours, with its checks
    ret = cli.run("mailserver.is_hostname", "not-a-fqdn", minion_tgt=minion.id)
    assert ret.data is False


def test_the_reactor_ran_on_the_start_event(master, minion, event_listener):
    start = time.time() - 600
    events = event_listener.get_events(
        [(master.id, f"salt/minion/{minion.id}/start")], after_time=start
    )
    assert events, "no minion start event reached the master"
    # the job the reactor published: saltutil.sync_all on that minion
    jobs = event_listener.get_events([(master.id, "salt/job/*/new")], after_time=start)
    assert any(
        e.data.get("fun") == "saltutil.sync_all" and minion.id in e.data.get("minions", [])
        for e in jobs
    ), [e.data.get("fun") for e in jobs]
