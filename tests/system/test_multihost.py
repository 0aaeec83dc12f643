"""More than one mail host (docs/multihost.md): mx1 the primary, mx2 a backup MX, both
minions of the lab's master with one cluster pillar, as an admin sets them up.

While the primary's Postfix is stopped the peer's own Postfix (an MTA on the Internet, which
tries the MX hosts in order) hands numbered messages to mx2, which refuses unknown recipients
at RCPT and keeps the rest queued; once the primary is back every message is in alice's
INBOX within a minute, each exactly once, handed over with verified TLS. The rolling
orchestration applies a change to one host at a time, each host's status check passing
before the next starts, while the peer keeps sending; a second run changes nothing."""

from __future__ import annotations

import collections
import contextlib
import json
import re
import threading
import time
from pathlib import Path

import pytest

from lab import config, container, dns, mailhost, master
from lab import lab as labmod
from lab.browser import Browser
from lab.until import Timeout, until
from tests.system.conftest import report_row
from tests.system.mailclients import DEFAULTS, PASSWORDS, imap, inbox, send25, submit
from tests.system.test_spam import GTUBE, GTUBE_ADD_HEADER

USER = "alice@example.com"
MX1, MX2 = config.HOSTS["mx1"], config.HOSTS["mx2"]
RUN = f"c{int(time.time()) % 100000}"
COLUMNS = ("case", "sent", "delivered", "duplicated", "lost", "seconds")


def cluster_pillar(mailserver: dict) -> dict:
    """The example pillar with mx2 as the backup MX, one pillar for both hosts as an admin
    writes it: every host with its addresses, each host's name its own (the minion's fqdn
    grain: no ``hostname``), the same accounts."""
    mailserver = {k: v for k, v in mailserver.items() if k != "hostname"}
    hosts = {
        MX1.fqdn: {"roles": ["primary"], "ipv4": [MX1.ip4], "ipv6": [MX1.ip6]},
        MX2.fqdn: {"roles": ["backup_mx", "replica"], "ipv4": [MX2.ip4], "ipv6": [MX2.ip6]},
    }
    return {**mailserver, "cluster": {"hosts": hosts}}


def converge(lab, host: str) -> dict:
    rc, data = mailhost.converge(lab.conf_dir, tgt=host, host=host)
    states = data.get(host)
    assert isinstance(states, dict), f"{host}: render failed: {states}"
    failed = {v.get("__id__", k): v["comment"] for k, v in states.items() if not v["result"]}
    assert rc == 0 and not failed, failed
    return states


def changed(states: dict) -> list[str]:
    return sorted(v.get("__id__", k) for k, v in states.items() if v.get("changes"))


@pytest.fixture(scope="module")
def cluster(mail):
    """mx1 and mx2 converged as the cluster; mx2 a minion of the master (a new host, its key
    accepted); the records of both published."""
    lab = mail
    lab.write_pillar(cluster_pillar(lab.read_pillar()))
    pki = Path(lab.master.config["pki_dir"])
    labmod.rebuild("mx2", pki)
    master.wait_ping(lab.conf_dir, "mx2")
    try:
        lab._converged = None  # mx1's pillar is not the example pillar now
        # the replication secret, made on the primary, handed to the replica by the master
        lab.salt("mx*", "saltutil.sync_all")
        lab.salt("mx*", "saltutil.refresh_pillar")
        paired = lab.salt_json("mailserver.pair_replica", "mx1", "mx2", tool="salt-run")
        assert paired.get("paired"), paired
        converge(lab, "mx1")  # the primary first: its certificate goes into the mine
        converge(lab, "mx2")
        converge(lab, "mx1")  # ... and now it learns the replica's (docs/multihost.md)
        records = []
        for host in ("mx1", "mx2"):
            records += lab.salt_json(host, "mailserver_dns.records")[host]
        dns.publish(list(dict.fromkeys(records)), serial=int(time.time()))
        container.sh("mx2", "rndc flush", check=False)
        lab.records = records
        yield lab
    finally:
        lab.sh("mx1", "systemctl start postfix", check=False)
        # mx2 leaves the master: the next modules target mx* and mean mx1
        lab.sh("mx2", "systemctl disable --now salt-minion", check=False)
        lab.salt("-d", "mx2", "-y", tool="salt-key", check=False)
        lab.reset_pillar()
        lab._converged = None


def numbered(lab, tag: str, numbers, rcpt: str = USER) -> None:
    """Messages ``tag #n`` handed to the peer's own Postfix (queued and retried as any MTA)."""
    script = [
        f"printf 'Subject: {tag} #{n}\\nTo: {rcpt}\\nMessage-ID: <{tag}.{n}@peer>\\n"
        f"\\nmessage {n}\\nend of {tag} #{n}\\n' | sendmail -f sink@example.net {rcpt}"
        for n in numbers
    ]
    lab.sh("peer", "\n".join(script))


def inbox_numbers(lab, tag: str, addr: str = MX1.ip4, wait: bool = False) -> collections.Counter:
    """The numbers of ``tag``'s messages in alice's INBOX on the host at ``addr``, each with
    how many times it is there (with ``wait``, none while the host does not answer yet)."""
    out = imap(lab, USER, PASSWORDS[USER], addr=addr, folder="INBOX", subject=tag)
    if wait and not out["ok"]:
        return collections.Counter()
    assert out["ok"], out
    found = collections.Counter()
    for msg in out["messages"]:
        m = re.search(rf"Subject: {re.escape(tag)} #(\d+)", msg["headers"])
        if m:
            assert f"end of {tag} #{m[1]}" in msg["body"], msg["body"][-200:]
            found[int(m[1])] += 1
    return found


def counted(lab, case: str, tag: str, sent: int, timeout: float) -> dict:
    """Wait until all ``sent`` numbered messages of ``tag`` are in alice's INBOX; the row of
    the ``cluster`` table (the seconds it took from now); none lost or delivered twice."""
    start = time.monotonic()
    try:
        found = until(
            lambda: len(c := inbox_numbers(lab, tag)) == sent and c,
            f"{case}: the {sent} messages in alice's INBOX",
            timeout,
            interval=2,
        )
    except Timeout:
        found = inbox_numbers(lab, tag)
    row = reported(case, sent, found, start)
    assert row["duplicated"] == 0 and row["lost"] == 0, (row, mail_logs(lab))
    return row


def reported(case: str, sent: int, found: collections.Counter, start: float) -> dict:
    """The row of the ``cluster`` table for ``sent`` numbered messages of which ``found``
    arrived (with how many times each), seconds since ``start``; added to the table."""
    row = {
        "case": case,
        "sent": sent,
        "delivered": len(found),
        "duplicated": sum(n - 1 for n in found.values()),
        "lost": sent - len(found),
        "seconds": round(time.monotonic() - start, 1),
    }
    report_row("cluster", COLUMNS, row)
    return row


def queued_on(lab, host: str, tag: str) -> int:
    """How many of ``tag``'s messages wait in ``host``'s queue."""
    ids = lab.sh(host, "postqueue -j", check=False).stdout
    qids = re.findall(r'"queue_id": "(\w+)"', ids)
    count = 0
    for qid in qids:
        body = lab.sh(host, f"postcat -hq {qid}", check=False).stdout
        count += f"Subject: {tag} #" in body
    return count


def on_each(lab, hosts: tuple[str, ...], script: str) -> str:
    """What ``script`` prints on each of ``hosts``, each under its name (a failure's why)."""
    return "\n".join(f"--- {h}\n" + lab.sh(h, script, check=False).stdout for h in hosts)


def mail_logs(lab) -> str:
    """The last Postfix lines of the peer and mx2 (what a failed hand-over shows)."""
    script = "journalctl -q -o cat --since -5min | grep -E 'postfix|rspamd|milter' | tail -40"
    return on_each(lab, ("peer", "mx2"), script)


def test_the_backup_mx_refuses_unknown_recipients_at_rcpt(cluster):
    for family, addr in (("ipv4", MX2.ip4), ("ipv6", MX2.ip6)):
        out = send25(cluster, [f"nobody-{family}@example.com"], f"{RUN} unknown", addr=addr)
        assert out["stage"] == "rcpt" and out["code"] == 550, out
        # ... and is no open relay
        out = send25(cluster, ["someone@example.net"], f"{RUN} relay", addr=addr)
        assert out["stage"] == "rcpt" and out["code"] == 554, out


def test_the_records_name_both_hosts(cluster):
    mx = {line.split()[-2] + " " + line.split()[-1] for line in cluster.records if " MX " in line}
    assert {f"10 {MX1.fqdn}.", f"20 {MX2.fqdn}."} <= mx, mx
    answer = cluster.sh("peer", "dig +short example.com MX").stdout.split("\n")
    assert {f"10 {MX1.fqdn}.", f"20 {MX2.fqdn}."} <= set(answer), answer


def test_the_backup_mx_judges_spam_as_the_primary_does(cluster):
    lab = cluster
    refused = send25(lab, [USER], f"{RUN} gtube", addr=MX2.ip4, body=GTUBE)
    assert refused["stage"] == "data" and refused["code"] == 554, refused
    # spam-like: marked on mx2, filed into Junk on mx1 (whose milters mx2's mail skips)
    junk = f"{RUN} junk via mx2"
    assert send25(lab, ["bob@example.com"], junk, addr=MX2.ip4, body=GTUBE_ADD_HEADER)["ok"]
    filed = inbox(lab, "bob@example.com", junk, folder="Junk", timeout=60)
    assert len(filed) == 1, filed
    assert "X-Spam: Yes" in filed[0]["headers"]
    assert f"by {MX2.fqdn}" in filed[0]["headers"]  # it came through the backup MX


def test_mail_waits_on_the_backup_mx_while_the_primary_is_away(cluster):
    lab, tag = cluster, f"{RUN}-away"
    lab.sh("mx1", "systemctl stop postfix")
    try:
        numbered(lab, tag, range(1, 11))
        # the peer found the primary closed and handed all ten to the backup MX, which keeps
        # them while the primary is away
        try:
            until(lambda: queued_on(lab, "mx2", tag) == 10, "mx2 to hold the ten", 120, 2)
        except Timeout:
            pytest.fail(f"mx2 did not hold the ten:\n{mail_logs(lab)}")
        assert inbox_numbers(lab, tag) == collections.Counter()
    finally:
        lab.sh("mx1", "systemctl start postfix")
    row = counted(lab, "primary away, backup MX queues", tag, 10, timeout=90)
    assert row["seconds"] <= 60, row
    # handed over to the primary with its certificate verified, never in the clear
    log = lab.sh("mx2", "journalctl -q -o cat -t postfix/smtp --since -10min").stdout
    assert f"Verified TLS connection established to {MX1.fqdn}" in log, log[-2000:]
    assert "Untrusted TLS" not in log and "Anonymous TLS" not in log, log[-2000:]


def test_the_backup_mx_hands_over_nothing_when_the_primary_is_not_who_it_claims(cluster):
    """A primary whose certificate is not the one it published: mail waits on mx2."""
    lab, tag = cluster, f"{RUN}-mitm"
    # the trust anchor, where smtp(8) reads it (its chroot) and outside
    anchors = "/etc/postfix/cluster-primary.pem /var/spool/postfix/etc/postfix/cluster-primary.pem"
    saved = lab.sh("mx2", "cat /etc/postfix/cluster-primary.pem").stdout
    other = lab.sh(
        "mx2",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null"
        f" -subj /CN={MX1.fqdn} -addext subjectAltName=DNS:{MX1.fqdn} -days 1 2>/dev/null",
    ).stdout
    assert "BEGIN CERTIFICATE" in other
    lab.sh("mx2", f"tee {anchors} >/dev/null && postfix reload", input=other)
    try:
        out = send25(lab, [USER], f"{tag} #1", addr=MX2.ip4, body=f"end of {tag} #1")
        assert out["ok"], out
        journal = "journalctl -q -o cat -t postfix/smtp --since -2min"
        log = until(
            lambda: "certificate verification failed" in (t := lab.sh("mx2", journal).stdout) and t,
            "mx2 to refuse the primary's certificate",
            60,
            interval=2,
        )
        assert f"for {MX1.fqdn}[" in log, log[-2000:]
        assert queued_on(lab, "mx2", tag) == 1
        assert inbox_numbers(lab, tag) == collections.Counter()
    finally:
        lab.sh("mx2", f"tee {anchors} >/dev/null && postfix reload", input=saved)
    lab.sh("mx2", "postqueue -f")
    assert until(lambda: inbox_numbers(lab, tag), f"{tag} in the INBOX", 60, interval=2)


def test_a_second_highstate_changes_nothing_on_either_host(cluster):
    for host in ("mx1", "mx2"):
        rc, data = master.apply(cluster.conf_dir, host)
        assert rc == 0 and changed(data[host]) == [], (host, changed(data[host]))


def orchestrate(lab) -> tuple[int, list[dict]]:
    """``salt-run state.orchestrate mailserver.orch.rolling``: its exit status and the
    returns of its steps, in the order they ran."""
    proc = master.salt(
        lab.conf_dir,
        "state.orchestrate",
        "mailserver.orch.rolling",
        "--out=json",
        tool="salt-run",
        check=False,
    )
    steps = []

    def walk(node):
        if isinstance(node, dict):
            if "__run_num__" in node and "__id__" in node:
                steps.append(node)
            else:
                for value in node.values():
                    walk(value)

    walk(master.json_docs(proc.stdout))
    assert steps, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.returncode, sorted(steps, key=lambda v: v["__run_num__"])


def started(step: dict) -> float:
    """When an orchestration step started, in seconds of its day."""
    h, m, sec = step["start_time"].split(":")
    return int(h) * 3600 + int(m) * 60 + float(sec)


def test_the_rolling_orchestration_applies_one_host_at_a_time_and_loses_nothing(cluster):
    lab, tag = cluster, f"{RUN}-rolling"
    # a change for both hosts that Postfix reloads for
    pillar = lab.read_pillar()
    pillar.setdefault("postfix", {})["message_size_limit"] = 41943040
    lab.write_pillar(pillar)
    script = (
        f"for n in $(seq 1 40); do printf 'Subject: {tag} #%s\\nTo: {USER}\\n\\nmessage %s\\n"
        f"end of {tag} #%s\\n' $n $n $n | sendmail -f sink@example.net {USER}; sleep 1; done"
    )
    stream = threading.Thread(target=lab.sh, args=("peer", script), kwargs={"timeout": 120})
    stream.start()
    try:
        rc, steps = orchestrate(lab)
    finally:
        stream.join()
    prefix = "mailserver-orch-rolling-salt-state-"
    order = [v["__id__"].removeprefix(prefix) for v in steps]
    assert order == ["highstate-mx1", "check-mx1", "highstate-mx2", "check-mx2"], said(lab, steps)
    # each host's check passed before the next host's turn began
    assert rc == 0 and all(v["result"] for v in steps), said(lab, steps)
    check_mx1, highstate_mx2 = steps[1], steps[2]
    assert started(highstate_mx2) >= started(check_mx1) + check_mx1["duration"] / 1000
    for host in ("mx1", "mx2"):
        assert lab.sh(host, "postconf -h message_size_limit").stdout.strip() == "41943040"
    counted(lab, "rolling orchestration", tag, 40, timeout=120)
    # a second run changes nothing
    rc, steps = orchestrate(lab)
    assert rc == 0 and all(v["result"] for v in steps), [(v["__id__"], v["comment"]) for v in steps]
    assert {v["__id__"]: v["changes"] for v in steps if v["changes"]} == {}


# --- the replica: mx2 holds a copy of every mailbox, kept in step both ways ----------------


def replicated(lab, case: str, tag: str, sent: int, timeout: float = 120) -> dict:
    """Wait until all ``sent`` messages of ``tag`` can be read on mx2 over IMAPS, over IPv4
    and IPv6; the row of the ``cluster`` table, seconds from now."""
    start = time.monotonic()
    want = collections.Counter(range(1, sent + 1))
    for addr in (MX2.ip4, MX2.ip6):
        with contextlib.suppress(Timeout):
            until(
                lambda a=addr: inbox_numbers(lab, tag, a, wait=True) == want,
                f"{case} on mx2",
                timeout,
                1,
            )
    found = inbox_numbers(lab, tag, MX2.ip6)
    row = reported(case, sent, found, start)
    assert found == want, (row, replication_logs(lab))
    return row


def said(lab, steps: list[dict]) -> tuple:
    """What an orchestration's steps said, and both replicators' view (a failed check's why)."""
    return [(v["__id__"], v["comment"]) for v in steps], replication_logs(lab)


def replication_logs(lab) -> str:
    """Dovecot's last lines on both hosts and each replicator's view (a failed sync's why)."""
    script = (
        "journalctl -q -o cat -u dovecot --since -5min | tail -30; doveadm replicator status '*'"
    )
    return on_each(lab, ("mx1", "mx2"), script)


def flags_on(lab, subject: str, addr: str, folder: str = "INBOX") -> list[set[str]]:
    """The flags of each message with ``subject`` in alice's ``folder`` at ``addr``."""
    out = imap(lab, USER, PASSWORDS[USER], addr=addr, folder=folder, subject=subject)
    assert out["ok"], out
    return [set(m["flags"]) for m in out["messages"]]


def test_mail_delivered_on_the_primary_is_read_on_the_replica(cluster):
    lab, tag = cluster, f"{RUN}-replica"
    numbered(lab, tag, range(1, 11))
    counted(lab, "delivered on the primary", tag, 10, timeout=90)
    row = replicated(lab, "read on the replica", tag, 10)
    assert row["seconds"] <= 30, row


def test_flags_and_moves_made_on_either_host_reach_the_other(cluster):
    lab, subject = cluster, f"{RUN} both ways"
    assert send25(lab, [USER], subject)["ok"]
    until(lambda: flags_on(lab, subject, MX2.ip4), "the message on mx2", 60, interval=1)

    def act(addr: str, folder: str, **change) -> None:
        out = imap(lab, USER, PASSWORDS[USER], addr=addr, folder=folder, subject=subject, **change)
        assert out["ok"], out

    def seen(what: str, addr: str, folder: str, flags: set[str]) -> None:
        """The one copy in ``folder`` at ``addr`` with ``flags``, none left elsewhere."""
        other = "Archive" if folder == "INBOX" else "INBOX"
        until(
            lambda: (
                [flags <= f for f in flags_on(lab, subject, addr, folder)] == [True]
                and not flags_on(lab, subject, addr, other)
            ),
            what,
            60,
            interval=1,
        )

    act(MX2.ip4, "INBOX", flag="\\Flagged")
    seen("a flag set on the replica, on the primary", MX1.ip4, "INBOX", {"\\Flagged"})
    act(MX1.ip6, "INBOX", flag="\\Answered")
    both = {"\\Flagged", "\\Answered"}
    seen("a flag set on the primary, on the replica", MX2.ip6, "INBOX", both)
    act(MX1.ip4, "INBOX", move_to="Archive")
    seen("a move on the primary, on the replica", MX2.ip4, "Archive", both)
    act(MX2.ip4, "Archive", move_to="INBOX")
    seen("a move on the replica, on the primary", MX1.ip4, "INBOX", both)


def test_a_locked_replica_catches_up_after_its_unlock(cluster):
    lab, tag = cluster, f"{RUN}-locked"
    assert lab.salt("mx2", "mailserver_store.lock", check=False).returncode == 0
    until(lambda: mailhost.store_status("mx2").get("state") == "locked", "mx2 locked", 60)
    numbered(lab, tag, range(1, 6))  # to the primary, while the replica is locked
    counted(lab, "delivered while the replica is locked", tag, 5, timeout=90)
    proc = lab.unlock_through_master("mx2")
    assert "unlocked" in proc.stdout, proc.stdout + proc.stderr
    row = replicated(lab, "replica unlocked, caught up", tag, 5)
    assert row["seconds"] <= 60, row  # the replicator alone retries after 5 minutes


def test_the_replication_secret_is_shared_and_root_s_alone(cluster):
    """The same secret on both hosts, readable by root alone, in no pillar; the secrets
    sweep (test_secrets.py) then searches every log, Salt cache, job return and event."""
    lab = cluster
    path = DEFAULTS["dovecot"]["replication"]["secret_file"]
    secret = lab.sh("mx1", f"cat {path}").stdout.removeprefix("doveadm_password = ").strip()
    assert len(secret) >= 40
    for host in ("mx1", "mx2"):
        assert lab.sh(host, f"stat -c '%U %a' {path}").stdout.split() == ["root", "600"]
        assert lab.sh(host, f"cat {path}").stdout == f"doveadm_password = {secret}\n"
    pillar = lab.salt_json("mx*", "pillar.items")
    assert set(pillar) == {"mx1", "mx2"} and secret not in json.dumps(pillar)


def test_doveadm_answers_the_partner_alone(cluster):
    """The replication port is open to the other host of the pair, closed to the world."""
    port = 12345
    probe = "timeout 5 bash -c 'exec 3<>/dev/tcp/{}/{}' && echo open || echo closed"
    for addr in (MX1.ip4, MX1.ip6):
        assert cluster.sh("mx2", probe.format(addr, port)).stdout.strip() == "open", addr
        assert cluster.sh("peer", probe.format(addr, port)).stdout.strip() == "closed", addr


def test_clients_fail_over_to_the_replica_by_its_own_name(cluster):
    """docs/multihost.md: while the primary is away users point their clients at the
    replica's name. Submission there, IMAPS there, the webmail there."""
    lab = cluster
    subject = f"{RUN} from the replica"
    sent = submit(lab, USER, ["bob@example.com"], subject, addr=MX2.ip4)
    assert sent["ok"], sent
    # relayed to the primary, delivered, replicated back: bob reads it on the replica
    assert inbox(lab, "bob@example.com", subject, addr=MX2.ip6, timeout=60)
    browser = Browser([MX2.fqdn], host=MX2, artifacts="multihost")
    try:
        browser.login(f"https://{MX2.fqdn}", "bob@example.com", PASSWORDS["bob@example.com"])
        browser.open_message(subject)
        browser.driver.switch_to.frame("messagecontframe")
        body = browser.wait("#messagebody", "the message's body").text
        assert "lab probe" in body, body
    finally:
        browser.quit()
