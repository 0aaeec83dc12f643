"""Integration tier: real salt-master and salt-minion daemons on this machine.

The reactor on minion start syncs the formula's modules, learns the mail store's status and,
when it is locked, notifies the admin (here: a webhook receiver run by the test, and the
event bus). The reactor on ``mailserver/store/unlocked`` runs the restart orchestration and
fires ``mailserver/store/ready/<id>``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from lab import master as labmaster
from lab.until import until


class Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def webhook():
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A configured, initialized-looking and locked store (nothing mounted)."""
    root = tmp_path_factory.mktemp("store")
    (root / "cipher").mkdir()
    (root / "cipher" / "gocryptfs.conf").write_text("{}")
    (root / "plain").mkdir()
    # the settings snapshot a highstate writes, as far as the store is concerned
    config = root / "settings.json"
    store = {
        "backend": "gocryptfs",
        "cipher_dir": str(root / "cipher"),
        "mount_point": str(root / "plain"),
        "dependents": [],
        "subdirs": [],
    }
    config.write_text(json.dumps({"store": store}))
    return config


@pytest.fixture(scope="module")
def master(salt_factories, webhook):
    overrides = labmaster.config()
    overrides["interface"] = "127.0.0.1"
    overrides["mailserver"] = {"notify": {"webhook": webhook}}
    factory = salt_factories.salt_master_daemon("reactor-master", overrides=overrides)
    with factory.started(start_timeout=120):
        yield factory


@pytest.fixture(scope="module")
def minion(master, store):
    factory = master.salt_minion_daemon(
        "mail-reactor-minion", overrides={"mailserver_settings_file": str(store)}
    )
    with factory.started(start_timeout=120):
        yield factory


def test_minion_start_syncs_modules_and_notifies_a_locked_store(master, minion, event_listener):
    start = time.time() - 600
    until(
        lambda: any(h["minion"] == minion.id for h in Hook.received),
        "the webhook to hear of the locked store",
        90,
    )
    hook = next(h for h in Hook.received if h["minion"] == minion.id)
    assert hook["state"] == "locked"
    assert hook["unlock"] == f"salt-run mailserver.unlock {minion.id}"
    events = event_listener.wait_for_events(
        [(master.id, f"mailserver/store/locked/{minion.id}")], after_time=start, timeout=30
    )
    assert events.found_all_events, "no mailserver/store/locked event on the master's bus"
    assert "LOCKED" in next(iter(events.matches)).data["text"]
    # the same run synced the formula's modules: they answer on the minion
    ret = master.salt_cli(timeout=60).run("mailserver_store.status", minion_tgt=minion.id)
    assert ret.data["state"] == "locked"


def test_unlocked_event_runs_the_restart_orchestration(master, minion, store, event_listener):
    # pretend the store got mounted: its mount point is now a real mount point
    cfg = json.loads(store.read_text())
    cfg["store"]["mount_point"] = "/"
    store.write_text(json.dumps(cfg))
    start = time.time()
    ret = master.salt_cli(timeout=60).run(
        "event.send", "mailserver/store/unlocked", minion_tgt=minion.id
    )
    assert ret.returncode == 0
    events = event_listener.wait_for_events(
        [(master.id, f"mailserver/store/ready/{minion.id}")], after_time=start, timeout=90
    )
    assert events.found_all_events, "the reactor never reported the services back"
    ready = next(iter(events.matches)).data
    assert ready["ok"] is True and ready["services"] == {}


def test_a_locked_mailbox_is_told_to_the_admin(master, minion, event_listener):
    """What the minion fires when a user goes past a hard sending limit (or an admin locks
    one) reaches the admin: the reactor runs the runner, which posts to the webhook and
    fires mailserver/account/locked/<id> on the master's bus."""
    start = time.time()
    ret = master.salt_cli(timeout=60).run(
        "event.send",
        "mailserver/account/locked",
        'data={"address": "bob@example.com", "reason": "sending limit HARDLIMIT_MESSAGES"}',
        minion_tgt=minion.id,
    )
    assert ret.returncode == 0
    until(
        lambda: any(h.get("address") == "bob@example.com" for h in Hook.received),
        "the webhook to hear of the locked mailbox",
        90,
    )
    hook = next(h for h in Hook.received if h.get("address") == "bob@example.com")
    assert hook["minion"] == minion.id
    assert hook["unlock"] == f"salt {minion.id} mailserver_accounts.unlock_user bob@example.com"
    assert "HARDLIMIT_MESSAGES" in hook["text"]
    events = event_listener.wait_for_events(
        [(master.id, f"mailserver/account/locked/{minion.id}")], after_time=start, timeout=30
    )
    assert events.found_all_events, "no mailserver/account/locked event on the master's bus"
