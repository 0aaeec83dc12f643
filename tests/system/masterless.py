"""The masterless scenario on mx2, run in a thread beside the tests of mx1 from the moment
the lab is up: it shares nothing with them but the peer (which only sends and reads mail
for it), so the two converges overlap instead of following each other. Each step records
what a user would look at; the tests of test_masterless.py wait for the step they judge.

The steps, in order (each needs the one before):

1. ``first``: the first `salt-call --local state.apply` of the fresh host, its resolver cut
   off from the DNS root (the root hints point where nothing answers);
2. ``init``: `mailserver_store.initialize`, the passphrase on standard input;
3. ``second``: the highstate again;
4. ``mail``: a message from the peer to mx2 on each address family, read back over IMAPS;
5. ``fixed``: the resolver given the lab's root, two highstates;
6. ``firewall``: ufw's state and the formula's rules;
7. ``reboot``: a reboot, the unlock (standard input), a highstate, the services, mail;
8. ``examples``: every documented CLI example, run on the host.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import traceback

from lab import config, container, dns, mailhost
from lab import lab as labmod
from tests.system.cli_examples import examples
from tests.system.mailclients import inbox, send25, tag

MX2 = config.HOSTS["mx2"]
PASS = "mx2 store passphrase"
# where the root servers are not: recursion gets no answer, as behind a closed port 53
NOWHERE = list(config.address(99))
SERVICES = ("postfix@-", "dovecot", "mariadb", "opendkim", "opendmarc")
STEPS = ("first", "init", "second", "mail", "fixed", "firewall", "reboot", "examples")


def active(units=SERVICES) -> dict:
    out = container.sh("mx2", f"systemctl is-active {' '.join(units)}", check=False)
    return dict(zip(units, out.stdout.split(), strict=True))


class Scenario:
    def __init__(self, lab):
        self.lab = lab
        self.results: dict = {}
        self.failure: tuple[str, str] | None = None
        self._done = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="masterless", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float = 1800) -> None:
        self._thread.join(timeout)

    def result(self, step: str, timeout: float = 1800):
        """The step's record, once it is there; a step that failed fails the caller."""
        deadline = time.monotonic() + timeout
        with self._done:
            while step not in self.results:
                if self.failure or not self._thread.is_alive():
                    failed, trace = self.failure or ("?", "the scenario ended early")
                    raise AssertionError(f"step {failed} of the masterless scenario: {trace}")
                left = deadline - time.monotonic()
                assert left > 0, f"waited {timeout:.0f}s for step {step}"
                self._done.wait(min(left, 5))
            return self.results[step]

    def _record(self, step, value) -> None:
        with self._done:
            self.results[step] = value
            self._done.notify_all()

    def _run(self) -> None:
        step = STEPS[0]
        try:
            for step in STEPS:
                self._record(step, getattr(self, f"_{step}")())
        except BaseException:  # every failure reaches the test that waits for this step
            with self._done:
                self.failure = (step, traceback.format_exc()[-3000:])
                self._done.notify_all()

    # --- the steps --------------------------------------------------------------------

    def _first(self):
        good = dns.lab_pillar(dns.root_anchor())
        cut_off = copy.deepcopy(good)
        cut_off["mailserver"]["dns"]["resolver"]["root_hints"] = NOWHERE
        labmod.write_masterless_pillar("mx2", cut_off)
        self.good_pillar = good
        resolv = container.sh("mx2", "cat /etc/resolv.conf").stdout
        return {"apply": mailhost.apply_local("mx2"), "resolv_conf": resolv}

    def _init(self):
        return mailhost.store_call("initialize", PASS, host="mx2", local=True)

    def _second(self):
        rc, states = mailhost.apply_local("mx2")
        resolv = container.sh("mx2", "cat /etc/resolv.conf").stdout
        return {"apply": (rc, states), "active": active(), "resolv_conf": resolv}

    def _mail(self):
        out = {}
        for family in ("ip4", "ip6"):
            addr, subject = getattr(MX2, family), tag("mx2")
            sent = send25(self.lab, ["alice@example.com"], subject, addr=addr)
            out[family] = {"sent": sent, "read": inbox(self.lab, "alice@example.com", subject,
                                                       addr=addr)}  # fmt: skip
        return out

    def _fixed(self):
        labmod.write_masterless_pillar("mx2", self.good_pillar)
        first = mailhost.apply_local("mx2")
        resolv = container.sh("mx2", "cat /etc/resolv.conf").stdout
        return {"apply": first, "again": mailhost.apply_local("mx2"), "resolv_conf": resolv}

    def _firewall(self):
        rules = mailhost.call("mx2", "mailserver_firewall.rules", local=True)
        status = container.sh("mx2", "ufw status", check=False).stdout
        return {"status": status, "rules": json.loads(rules.stdout)["local"]}

    def _reboot(self):
        container.reboot("mx2")
        locked = mailhost.store_status("mx2", local=True)
        before = active(("postfix@-", "dovecot"))
        unlock = mailhost.store_call("unlock", PASS, host="mx2", local=True)
        applied = mailhost.apply_local("mx2")
        subject = tag("after-reboot")
        sent = send25(self.lab, ["bob@example.com"], subject, addr=MX2.ip4)
        read = inbox(self.lab, "bob@example.com", subject, addr=MX2.ip4)
        return {
            "locked": locked, "before": before, "unlock": unlock, "apply": applied,
            "after": active(), "sent": sent, "read": read,
        }  # fmt: skip

    def _examples(self):
        stdin = {
            "mailserver_accounts.hash_password": "a password\n",
            "mailserver_store.initialize": PASS + "\n",
            "mailserver_store.unlock": PASS + "\n",
            "mailserver_store.change_passphrase": f"{PASS}\n{PASS}\n",
        }
        last = ("mailserver_store.lock", "mailserver_store.unlock",
                "mailserver_store.restart_dependents")  # fmt: skip
        todo = sorted(
            examples(), key=lambda e: last.index(e.function) + 1 if e.function in last else 0
        )
        runs = []
        for ex in todo:
            proc = mailhost.call(
                "mx2", ex.function, *ex.args, local=True, stdin=stdin.get(ex.function)
            )
            runs.append((ex, proc.returncode, proc.stdout + proc.stderr))
        store = mailhost.store_status("mx2", local=True)
        return {"runs": runs, "store": store, "after": active()}
