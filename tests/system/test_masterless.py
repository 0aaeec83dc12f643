"""The masterless way (`salt-call --local state.apply`), on mx2: a fresh host of mx1's image
with a read-only copy of the formula and its own pillar, as docs/install.md describes.

Its first highstate runs while its resolver cannot reach the DNS root (the provider's
firewall, say): the resolver's own check fails, and nothing else does; the store is
initialized from standard input when the state asks; Postfix, Dovecot and MariaDB run and
mail from the peer arrives. Then the resolver reaches the root, the highstate is green and a
second one changes nothing; after a reboot, the unlock and a highstate alone bring every
service back (no reactor here); every documented CLI example runs.

The steps run in the background from the moment the lab is up (tests/system/masterless.py);
each test here judges one step's record."""

from __future__ import annotations

import pytest

from tests.system.cli_examples import JUDGES
from tests.system.masterless import PASS

RESOLVER = {"mailserver-bind-resolver-cmd-run-answers", "mailserver-bind-resolver-file-managed"}
STORE = "mailserver-store-service-unlocked"
BROKEN = ("Passed invalid arguments", "is not available", "Traceback", "un-handled exception")


def failed(states: dict) -> dict:
    assert isinstance(states, dict) and "raw" not in states, states
    return {v["__id__"]: v["comment"] for v in states.values() if not v["result"]}


def failed_beyond(states: dict, causes: set[str]) -> dict:
    """The failed states not explained by ``causes``: those that failed themselves, and those
    whose failed requisites are not all (in turn) explained by them."""
    bad, explained = failed(states), set(causes)
    while True:
        more = {
            sid
            for sid, comment in bad.items()
            if sid not in explained
            and comment.startswith("One or more requisite failed: ")
            and all(
                req[req.index("mailserver-") :] in explained
                for req in comment.split(": ", 1)[1].split(", ")
            )
        }
        if not more:
            return {sid: c for sid, c in bad.items() if sid not in explained}
        explained |= more


@pytest.fixture(scope="module")
def scenario(lab_session):
    lab_session.ensure_up()
    return lab_session.masterless


def test_the_first_highstate_asks_for_the_store_with_the_masterless_command(scenario):
    rc, states = scenario.result("first")["apply"]
    assert rc != 0
    assert "salt-call --local mailserver_store.initialize" in failed(states)[STORE]
    # what waits for the store, and the resolver that cannot answer: nothing else (no
    # package's own start at install time fails either)
    assert failed_beyond(states, {STORE, *RESOLVER}) == {}
    init = scenario.result("init")
    assert init.returncode == 0, init.stderr
    assert PASS not in init.stdout + init.stderr


def test_without_a_resolver_that_answers_everything_else_converges(scenario):
    """The bug: the resolver's failed check kept Postfix from being configured; receiving
    mail and serving IMAP do not need outbound DNS."""
    second = scenario.result("second")
    rc, states = second["apply"]
    assert rc != 0 and set(failed(states)) == RESOLVER, failed(states)
    assert set(second["active"].values()) == {"active"}, second["active"]
    # the host keeps asking the resolvers it had until its own answers
    assert second["resolv_conf"] == scenario.result("first")["resolv_conf"]


@pytest.mark.parametrize("family", ["ip4", "ip6"])
def test_mail_from_the_peer_arrives_and_is_read_over_imaps(scenario, family):
    mail = scenario.result("mail")[family]
    assert mail["sent"]["ok"], mail["sent"]
    assert mail["read"], "not in the inbox"


def test_once_the_resolver_reaches_the_root_it_is_green_and_then_changes_nothing(scenario):
    fixed = scenario.result("fixed")
    rc, states = fixed["apply"]
    assert rc == 0 and not failed(states), failed(states)
    assert "nameserver 127.0.0.1" in fixed["resolv_conf"]
    rc, states = fixed["again"]
    changed = {v["__id__"]: v["changes"] for v in states.values() if v["changes"]}
    assert rc == 0 and changed == {}, f"a second highstate should report zero changes: {changed}"


def test_the_firewall_is_on_and_lets_in_no_master(scenario):
    fw = scenario.result("firewall")
    assert "Status: active" in fw["status"]
    comments = [r["comment"] for r in fw["rules"]["mailserver"]]
    assert "mailserver smtp" in comments
    assert not [c for c in comments if "salt-master" in c], comments


def test_after_a_reboot_the_unlock_and_a_highstate_bring_every_service_back(scenario):
    after = scenario.result("reboot")
    assert after["locked"]["state"] == "locked"
    assert "active" not in after["before"].values()
    assert after["unlock"].returncode == 0, after["unlock"].stderr
    assert "salt-call --local state.apply" in after["unlock"].stdout  # the next step
    rc, states = after["apply"]
    assert rc == 0 and not failed(states), failed(states)
    assert set(after["after"].values()) == {"active"}, after["after"]
    assert after["sent"]["ok"] and after["read"]


def test_every_documented_cli_example_runs_masterless(scenario):
    """Each CLI example of the execution modules, run on the host as `salt-call --local`
    (`salt mx1 X` is `salt-call X` on the host): none fails for want of an argument or a
    setting; one that only reads succeeds; one that changes the host succeeds or says, in
    its own words, why not here (an ACME certificate on a host without ACME, a key that
    does not exist)."""
    record = scenario.result("examples")
    bad = []
    for ex, rc, out in record["runs"]:
        broken = [b for b in BROKEN if b in out]
        clean_refusal = ex.changes and rc != 0 and "Error running" in out
        judged = ex.function in JUDGES  # exits 1 when a check fails
        if broken or not (rc == 0 or clean_refusal or judged):
            bad.append(f"{ex.line} -> {rc}: {out[-300:]}")
    assert not bad, "\n".join(bad)
    assert len(record["runs"]) >= 50
    # and the store is unlocked again (the last examples), its services back
    assert record["store"]["state"] == "unlocked"
    assert set(record["after"].values()) == {"active"}, record["after"]
