"""Nothing lost under faults. For each fault the peer's own Postfix (which queues and retries
as any sender on the Internet does) sends numbered messages to alice over IPv4 and IPv6
before, during and after the fault. After recovery every message the peer was not refused
(5xx) for is in alice's INBOX exactly once, counted over IMAP by number, and none bounced.

The table (fault, sent, accepted, deferred, delivered, duplicated, lost) is printed at the
end of the run and written to build/artifacts/faults.txt.

Recovery includes the passing of time: where a queue holds mail (the peer's, or mx1's while
Dovecot is away), the test flushes it, as the queue manager's next retry would."""

from __future__ import annotations

import collections
import re
import time

import pytest

from lab import container, mailhost, master
from lab.until import until
from tests.system.conftest import report_row
from tests.system.mailclients import DEFAULTS, FAMILIES, PASSWORDS, imap
from tests.system.test_store import DEPENDENTS, active

USER = "alice@example.com"
PER_PHASE = 3  # messages per family in each phase
STORE = DEFAULTS["store"]
# "IMAP errors": reading the INBOX answered "NO [SERVERBUG]" and worked when tried again
# (Dovecot finding its index changed under it on EncFS: docs/performance.md)
COLUMNS = (
    "fault", "sent", "accepted", "deferred", "delivered", "duplicated", "lost", "IMAP errors",
)  # fmt: skip
RUN = f"f{int(time.time()) % 100000}"


class Batch:
    """The numbered messages of one fault: sent by the peer's MTA, traced through its log,
    counted in alice's INBOX."""

    def __init__(self, lab, fault: str):
        self.lab, self.fault = lab, fault
        self.slug = re.sub(r"[^a-z0-9]+", "-", fault.lower()).strip("-")
        self.tag = f"{RUN}-{self.slug}"
        self.sent = 0
        self.since = lab.sh("peer", "date +%s").stdout.strip()
        self.imap_errors = 0  # reads answered NO [SERVERBUG], each read again

    def send(self) -> list[int]:
        """One phase: PER_PHASE messages per family, handed to the peer's sendmail."""
        numbers, script = [], []
        for family in sorted(FAMILIES):
            rcpt = USER.replace("@", f"+{family}@")
            for _ in range(PER_PHASE):
                self.sent += 1
                n = self.sent
                numbers.append(n)
                script.append(
                    f"printf 'Subject: {self.tag} #{n}\\nTo: {rcpt}\\n"
                    f"Message-ID: <{self.tag}.{n}@peer>\\n"
                    f"\\nmessage {n} of {self.fault}\\nend of {self.tag} #{n}\\n' "
                    f"| sendmail -f sink@example.net {rcpt}"
                )
        self.lab.sh("peer", "\n".join(script))
        return numbers

    def trace(self) -> dict[str, set[int]]:
        """What the MTAs did with each numbered message: the peer handed it over to mx1
        (sent); the peer or mx1 deferred it at least once (4xx, no connection, a local
        delivery that failed for now); either bounced it (5xx)."""
        out = {"sent": set(), "deferred": set(), "bounced": set()}
        self.logs = {}  # each host's log, and its queue ids' numbers (for story())
        for host in ("peer", "mx1"):
            log = self.lab.sh(
                host,
                f"journalctl -q -o cat --since @{self.since} -t postfix/cleanup "
                "-t postfix/smtp -t postfix/lmtp -t postfix/bounce",
                check=False,
            ).stdout
            numbers = {
                qid: int(n)
                for qid, n in re.findall(
                    rf"(\w+): message-id=<{re.escape(self.tag)}\.(\d+)@peer>", log
                )
            }
            self.logs[host] = (log, numbers)
            for qid, family, relay, status in re.findall(
                r"(\w+): to=<[^>]*\+(ipv\d)@[^>]*>, (?:orig_to=<[^>]*>, )?relay=([^,]*),.* "
                r"status=(\w+)",
                log,
            ):
                if qid not in numbers or status not in out:
                    continue
                if host == "peer" or status != "sent":
                    out[status].add(numbers[qid])
                if host == "peer" and status == "sent":  # over the family it was meant to
                    assert (":" in relay.split("[")[-1].split("]")[0]) == (family == "ipv6"), relay
        return out

    def delivered(self) -> collections.Counter:
        """The numbers in alice's INBOX, each with how many times it is there."""
        out = imap(self.lab, USER, PASSWORDS[USER], folder="INBOX", subject=self.tag)
        if not out["ok"] and "[SERVERBUG]" in str(out.get("error")):
            # counted in the row and read again (the wait's deadline ends one that stays)
            self.imap_errors += 1
            return collections.Counter()
        # the stage and the server's words first: pytest shortens a long message
        assert out["ok"], (out["stage"], out.get("error"), out)
        found = collections.Counter()
        for msg in out["messages"]:
            m = re.search(rf"Subject: {re.escape(self.tag)} #(\d+)", msg["headers"])
            if m:
                n = int(m.group(1))
                # whole: nothing half-written
                assert f"end of {self.tag} #{n}" in msg["body"], msg["body"][-200:]
                found[n] += 1
        return found

    def settle(self, timeout: float = 180) -> None:
        """Wait until every message left both queues: delivered, or bounced; flushing the
        queues meanwhile, as their next retry would."""

        def done():
            queued = (
                self.lab.sh("peer", "postqueue -j").stdout
                + self.lab.sh("mx1", "postqueue -j").stdout
            )
            if "+ipv" not in queued:
                return True
            self.lab.sh("peer", "postqueue -f")
            self.lab.sh("mx1", "postqueue -f")
            return False

        until(done, f"{self.fault}: the queues to empty", timeout, interval=3)

    def wait_attempted(self, numbers: list[int], timeout: float = 60) -> None:
        """Wait until the peer tried to hand each of ``numbers`` over at least once (so the
        fault was met, not raced past)."""

        def tried():
            t = self.trace()
            return set(numbers) <= t["sent"] | t["deferred"] | t["bounced"]

        until(tried, f"{self.fault}: the peer to try its messages", timeout, interval=1)

    def count(self) -> dict:
        trace = self.trace()
        found = until(
            lambda: (c := self.delivered()) and len(c) + len(trace["bounced"]) >= self.sent and c,
            f"{self.fault}: every message in the INBOX",
            timeout=60,
            interval=2,
        )
        row = {
            "fault": self.fault,
            "sent": self.sent,
            "accepted": len(trace["sent"]),
            "deferred": len(trace["deferred"]),
            "delivered": len(found),
            "duplicated": sum(c - 1 for c in found.values()),
            "lost": self.sent - len(trace["bounced"]) - len(found),
            "IMAP errors": self.imap_errors,
        }
        report_row("faults", COLUMNS, row)
        odd = sorted(
            n for n in range(1, self.sent + 1)
            if found[n] > 1 or (not found[n] and n not in trace["bounced"])
        )  # fmt: skip
        return {**row, "bounced": sorted(trace["bounced"]), "odd": self.story(odd)}

    def story(self, numbers: list[int]) -> dict[int, list[str]]:
        """The MTAs' log lines of each of ``numbers`` (by the queue ids trace() found, on the
        peer and mx1): why a message was lost or came twice, in the failure's own words."""
        out = {n: [] for n in numbers}
        for host, (log, queued) in self.logs.items():
            for line in log.splitlines():
                n = queued.get(line.split(":")[0])
                if n in out:
                    out[n].append(f"{host}: {line}")
        return out


def assert_whole(row: dict) -> None:
    """What every fault must leave: nothing bounced, lost or delivered twice."""
    assert row["bounced"] == [] and row["lost"] == 0 and row["duplicated"] == 0, (
        f"bounced {row['bounced']}, lost {row['lost']}, duplicated {row['duplicated']}: "
        f"{row['odd']}"
    )


def run_fault(lab, fault, inject, recover):
    batch = Batch(lab, fault)
    batch.wait_attempted(batch.send())
    inject()
    try:
        batch.wait_attempted(batch.send())
    finally:
        recover()
    batch.send()
    batch.settle()
    row = batch.count()
    assert_whole(row)
    return row


# (fault, unit on mx1): each stopped while the peer sends, then started again
SERVICES = [
    ("MariaDB stopped", "mariadb"),
    ("Dovecot stopped", "dovecot"),
    ("OpenDKIM stopped", "opendkim"),
    ("OpenDMARC stopped", "opendmarc"),
    ("rspamd stopped", "rspamd"),
    ("Redis stopped", "redis-server"),
    ("Postgrey stopped", "postgrey"),
    ("postfwd stopped", "postfwd"),
    ("BIND stopped", "named"),
]


@pytest.fixture(scope="module")
def faults(mail):
    # the +ipv4/+ipv6 extensions choose the peer's transport; the peer's log names both
    yield mail
    # whatever a failed test left stopped runs again, and mx1 is converged for the next module
    mail.sh("mx1", f"systemctl start {' '.join(u for _, u in SERVICES)}", check=False)


@pytest.mark.parametrize(("fault", "unit"), SERVICES, ids=[u for _, u in SERVICES])
def test_a_stopped_service_loses_nothing(faults, fault, unit):
    run_fault(
        faults,
        fault,
        lambda: faults.sh("mx1", f"systemctl stop {unit}"),
        lambda: (
            faults.sh("mx1", f"systemctl start {unit}"),
            until(lambda: active(faults, unit) == "active", f"{unit} running again", 60),
        ),
    )


def _restarted(lab) -> None:
    until(
        lambda: all(active(lab, unit) == "active" for unit in DEPENDENTS),
        "the reactor to restart the store's services",
        120,
    )


def _unlock(lab) -> None:
    """Unlock on the host (``salt-call``); the master's reactor starts the services."""
    assert mailhost.store_call("unlock").returncode == 0
    _restarted(lab)


def _unlock_through_the_master(lab) -> None:
    proc = lab.unlock_through_master()
    assert "unlocked" in proc.stdout, proc.stdout + proc.stderr
    _restarted(lab)


def test_a_reboot_in_the_middle_of_a_batch_loses_nothing(faults):
    """(Once one message in four runs came twice: Dovecot stopped under an LMTP delivery in
    flight. The store's services now stop in reverse order, Postfix before Dovecot.)"""
    batch = Batch(faults, "store locked by a reboot")
    batch.wait_attempted(batch.send())
    batch.send()  # the peer is handing these over as mx1 goes down
    container.reboot("mx1")
    master.wait_ping(faults.conf_dir, "mx1")
    until(lambda: mailhost.store_status().get("state") == "locked", "the store locked")
    batch.wait_attempted(batch.send())  # while locked: nothing listens on 25
    _unlock_through_the_master(faults)
    batch.send()
    batch.settle()
    row = batch.count()
    assert_whole(row)


# the store's cipher directory on a small filesystem of its own (tmpfs), filled up by a file
# written through the store; the store's contents copied in and, afterwards, back out
SMALL = f"""set -e
salt-call --out=quiet mailserver_store.lock
mkdir -p /run/cipher-copy && cp -a {STORE["cipher_dir"]}/. /run/cipher-copy/
used=$(du -sk /run/cipher-copy | cut -f1)
mount -t tmpfs -o size=$((used + 65536))k,mode=0700 store-full {STORE["cipher_dir"]}
cp -a /run/cipher-copy/. {STORE["cipher_dir"]}/
"""
BACK = f"""set -e
salt-call --out=quiet mailserver_store.lock
rm -rf /run/cipher-copy && mkdir /run/cipher-copy && cp -a {STORE["cipher_dir"]}/. /run/cipher-copy/
umount {STORE["cipher_dir"]}
find {STORE["cipher_dir"]} -mindepth 1 -delete
cp -a /run/cipher-copy/. {STORE["cipher_dir"]}/ && rm -rf /run/cipher-copy
"""
FILLER = f"{STORE['mount_point']}/filler"


def test_a_full_store_keeps_mail_waiting_and_delivers_once_space_is_freed(faults):
    batch = Batch(faults, "store filesystem full")
    batch.wait_attempted(batch.send())
    batch.settle()
    faults.sh("mx1", SMALL)
    try:
        _unlock(faults)
        # to the last page: big blocks, then small ones (a page left would take a message)
        for size in ("1M", "4k", "512"):
            faults.sh(
                "mx1",
                f"dd if=/dev/zero of={FILLER}.{size} bs={size} 2>/dev/null; sync",
                check=False,
            )
        free = faults.sh("mx1", f"df -k --output=avail {STORE['cipher_dir']} | tail -1").stdout
        assert int(free) == 0, f"the store is not full: {free} KiB free"
        during = batch.send()
        batch.wait_attempted(during)
        # mx1 took them and keeps them: in its queue, deferred, none in the store half-written
        queued = faults.sh("mx1", "postqueue -j").stdout
        assert sum("+ipv" in line for line in queued.splitlines()) == len(during), queued
        half = faults.sh("mx1", f"find {STORE['mail_root']} -path '*/tmp/*' -type f").stdout
        assert half == "", f"half-written messages: {half}"
        faults.sh("mx1", f"rm -f {FILLER}.*")
        batch.send()
        batch.settle()
        row = batch.count()
    finally:
        faults.sh("mx1", f"rm -f {FILLER}.*", check=False)
        if (
            "store-full"
            in faults.sh("mx1", "findmnt -n -o SOURCE " + STORE["cipher_dir"], check=False).stdout
        ):
            faults.sh("mx1", BACK)
            _unlock(faults)
    assert_whole(row)
    # everything still there on the store's own disk
    assert len(batch.delivered()) == batch.sent


def _accounts(lab) -> set[str]:
    """The mailboxes in the database, but the upgrade guard's probe (the formula's own)."""
    out = lab.sh("mx1", "mysql -N mailserver -e 'SELECT email FROM virtual_users'").stdout
    probe = f"{DEFAULTS['updates']['guard']['probe_local']}@"
    return {a for a in out.split() if not a.startswith(probe)}


def _kill_minion(lab) -> None:
    """SIGKILL to every process of the minion's unit, the highstate's among them. systemctl
    kill can answer EIO for a process that is exiting at that moment: sent again until the
    unit is down."""

    def down() -> bool:
        lab.sh("mx1", "systemctl kill --signal=KILL salt-minion", check=False)
        state = lab.sh("mx1", "systemctl is-active salt-minion", check=False).stdout.strip()
        return state != "active"

    until(down, "the minion killed", 30)


def test_an_interrupted_highstate_rerun_converges_and_the_database_is_whole(faults):
    """The minion killed in the middle of a highstate that adds mailboxes: the accounts are
    the old ones or the new ones, never a part; the re-run converges; mail flows meanwhile."""
    pillar = faults.read_pillar()
    old = set(pillar["mailboxes"])
    a_hash = pillar["mailboxes"][USER]["password_hash"]
    added = {f"bulk{i:03d}@example.org": {"password_hash": a_hash} for i in range(200)}
    pillar["mailboxes"].update(added)
    faults.write_pillar(pillar)
    batch = Batch(faults, "highstate interrupted")
    try:
        batch.wait_attempted(batch.send())
        jid = faults.salt("mx1", "state.apply", "--async").stdout.split()[-1]
        until(
            lambda: (
                faults.sh(
                    "mx1", f"test -e /var/cache/salt/minion/proc/{jid}", check=False
                ).returncode
                == 0
            ),
            "the highstate to start",
            60,
        )
        time.sleep(8)  # not a test decision: where in the run the kill lands
        _kill_minion(faults)
        assert _accounts(faults) in (old, old | set(added)), "the database is half-synced"
        batch.wait_attempted(batch.send())
        faults.sh("mx1", "systemctl start salt-minion")
        master.wait_ping(faults.conf_dir, "mx1")
        faults.highstate()
        assert _accounts(faults) == old | set(added)
        batch.send()
        batch.settle()
        row = batch.count()
    finally:
        faults.reset_pillar()
        faults.sh("mx1", "systemctl start salt-minion", check=False)  # for the next module
    assert_whole(row)
