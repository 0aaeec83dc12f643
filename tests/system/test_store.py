"""The encrypted mail store, in the lab: nothing in clear on disk, locked after a reboot
with its services kept off the bare directory, the admin notified, mail from outside kept
waiting, unlocked through the master, services restarted by the reactor, mail delivered."""

from __future__ import annotations

import json
import subprocess

import pytest

from lab import config, container, mailhost, master
from lab.until import until
from tests.conftest import REPO
from tests.system.mailclients import DEFAULTS, PASSWORDS, inbox, send25, tag

STORE = DEFAULTS["store"]["cipher_dir"]
BARE = DEFAULTS["store"]["mount_point"]
MAIL_ROOT = DEFAULTS["store"]["mail_root"]
# what keeps data in the store (mail, Bayes tokens, greylist triplets, senders' counters)
DEPENDENTS = [unit.removesuffix(".service") for unit in DEFAULTS["store"]["dependents"]]
MX1_FQDN = config.HOSTS["mx1"].fqdn


def active(lab, unit):
    return lab.sh("mx1", f"systemctl is-active {unit}", check=False).stdout.strip()


def webmail_page(lab) -> tuple[str, str]:
    """The webmail's first page as the peer's curl gets it: (HTTP status, body)."""
    out = lab.sh("peer", f"curl -sk -w '\\n%{{http_code}}' https://{MX1_FQDN}/", check=False).stdout
    body, _, code = out.rpartition("\n")
    return code.strip(), body


def test_no_plaintext_reaches_the_encrypted_directory(mail):
    marker = tag("secret-marker")
    assert send25(mail, ["alice@example.com"], marker)["ok"]
    assert inbox(mail, "alice@example.com", marker)
    clear = mail.sh("mx1", f"grep -rl '{marker}' {MAIL_ROOT}", check=False).stdout
    assert clear.strip(), "the message should be readable inside the unlocked store"
    raw = mail.sh("mx1", f"grep -rl '{marker}' {STORE}", check=False)
    assert raw.returncode == 1 and raw.stdout == "", "plaintext found in the encrypted directory"
    # nor the mailbox names: EncFS encrypts file names too
    names = mail.sh("mx1", f"find {STORE} | grep -c -e example.com -e alice", check=False)
    assert names.stdout.strip() == "0"


def test_a_wrong_passphrase_leaves_the_store_locked_and_untouched(mail):
    mail.sh("mx1", "salt-call mailserver_store.lock")
    assert mailhost.store_status()["state"] == "locked"
    before = mail.sh("mx1", f"find {STORE} -printf '%p %s %T@\\n' | sort").stdout
    ret = mailhost.store_call("unlock", passphrase="not the passphrase")
    assert ret.returncode != 0
    assert "wrong passphrase" in ret.stdout + ret.stderr
    assert "not the passphrase" not in ret.stdout + ret.stderr
    assert mailhost.store_status()["state"] == "locked"
    assert mail.sh("mx1", f"find {STORE} -printf '%p %s %T@\\n' | sort").stdout == before
    assert mailhost.store_call("unlock").returncode == 0
    until(lambda: active(mail, "postfix@-") == "active", what="postfix after unlock")


def test_reboot_locks_notifies_keeps_mail_waiting_and_unlock_delivers(mail, lab_session):
    notices_before = mail.sh("peer", "grep -c 'is LOCKED' /var/mail/sink", check=False).stdout
    container.reboot("mx1")
    master.wait_ping(mail.conf_dir, "mx1")

    # locked, and what uses the store is not running
    until(lambda: mailhost.store_status().get("state") == "locked", what="store status")
    for unit in DEPENDENTS:
        assert active(mail, unit) != "active", f"{unit} runs while the store is locked"

    # the admin was told: by mail through the relay, with the exact unlock command
    until(
        lambda: (
            mail.sh("peer", "grep -c 'is LOCKED' /var/mail/sink", check=False).stdout
            != notices_before
        ),
        what="the admin's notification",
    )
    notice = mail.sh("peer", "cat /var/mail/sink").stdout
    assert "salt-run mailserver.unlock mx1" in notice

    # mail from the outside world meanwhile: the peer's MTA keeps it queued, nothing is lost
    waiting = tag("waiting")
    mail.sh(
        "peer",
        f"printf 'Subject: {waiting}\\n\\nsent while locked\\n' | "
        "sendmail -f someone@example.net alice@example.com",
    )
    until(
        lambda: (
            waiting
            in mail.sh("peer", "postqueue -p; postcat -q ALL 2>/dev/null", check=False).stdout
            or "alice@example.com" in mail.sh("peer", "postqueue -p").stdout
        ),
        what="the message to wait in the peer's queue",
    )
    assert mail.sh("mx1", f"ls -A {BARE}").stdout == "", "something wrote to the bare directory"
    # the webmail says it is down for maintenance: never a PHP error, nothing of the store
    code, page = webmail_page(mail)
    assert code == "503" and "down for maintenance" in page, (code, page[:300])

    # unlock through the master: the passphrase goes sealed; the reactor restarts services
    proc = mail.unlock_through_master()
    assert "unlocked" in proc.stdout, proc.stdout + proc.stderr
    until(
        lambda: all(active(mail, unit) == "active" for unit in DEPENDENTS),
        timeout=120,
        what="the reactor to restart every service that uses the store",
    )

    # the webmail works again without anyone touching it: its login page
    until(lambda: webmail_page(mail)[0] == "200", "the webmail back after the unlock", 60)
    assert "rcmloginuser" in webmail_page(mail)[1]

    # the waiting mail arrives once the peer retries
    mail.sh("peer", "postqueue -f")
    assert inbox(
        mail, "alice@example.com", waiting, timeout=60, password=PASSWORDS["alice@example.com"]
    )
    # and the passphrase never reached the master's job cache, logs or event returns
    found = subprocess.run(
        ["grep", "-rl", "-F", mailhost.STORE_PASSPHRASE, lab_session.master.config["root_dir"]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == "", found.stdout


def test_optional_auto_unlock_unlocks_on_boot_by_itself(mail):
    key = mail.auto_unlock_dir / "mx1.passphrase"
    key.write_text(mailhost.STORE_PASSPHRASE + "\n")
    key.chmod(0o600)
    try:
        container.reboot("mx1")
        master.wait_ping(mail.conf_dir, "mx1")
        until(
            lambda: mailhost.store_status().get("state") == "unlocked",
            timeout=90,
            what="the master to unlock the store by itself",
        )
        until(
            lambda: active(mail, "dovecot") == "active" and active(mail, "postfix@-") == "active",
            timeout=90,
            what="the services after the automatic unlock",
        )
        assert mailhost.store_status()["state"] == "unlocked"
        assert active(mail, "opendkim") == "active"
    finally:
        key.unlink()


@pytest.mark.parametrize("backend", ["encfs", "gocryptfs"])
def test_each_backend_initializes_locks_unlocks_and_changes_its_passphrase(mail, backend):
    mail.sh("mx1", f"apt-get install -y -q {backend} >/dev/null")
    work = f"/root/store-{backend}"
    mail.sh("mx1", f"rm -rf {work} && mkdir -p {work}")
    script = (REPO / "tests/system/store_backend.py").read_text()
    mail.sh("mx1", f"cat > {work}/run.py", input=script)
    stdin = "alpha-7781\nbogus-3319\nalpha-7781\nalpha-7781\nomega-5512\nalpha-7781\nomega-5512\n"
    proc = container.exec_(
        "mx1", "/opt/salt/bin/python", f"{work}/run.py", backend, work, input=stdin, timeout=300
    )
    steps = json.loads(proc.stdout.strip().splitlines()[-1])
    seen = [(s["step"], s["ok"], s.get("state")) for s in steps]
    assert seen == [
        ("status", True, "uninitialized"),
        ("initialize", True, "unlocked"),
        ("lock", True, "locked"),
        ("unlock", False, "locked"),  # wrong passphrase: still locked
        ("unlock", True, "unlocked"),
        ("read", True, None),  # what was written before the lock is back
        ("inode", True, None),  # its ciphertext found by inode number, without the key
        ("lock", True, "locked"),
        ("change_passphrase", True, "locked"),
        ("unlock", False, "locked"),  # the old passphrase no longer opens it
        ("unlock", True, "unlocked"),
        ("lock", True, "locked"),
    ], seen
    assert "wrong passphrase" in steps[3]["error"]
    for passphrase in ("alpha-7781", "bogus-3319", "omega-5512"):
        assert passphrase not in json.dumps(steps)  # in no return, no error
    raw = mail.sh("mx1", f"grep -rl store-backend-marker {work}/cipher", check=False)
    assert raw.stdout == ""


def test_highstate_after_unlock_reports_zero_changes(mail):
    rc, data = mail.apply("mx*")
    changed = {v.get("__id__", k): v["changes"] for k, v in data["mx1"].items() if v["changes"]}
    assert rc == 0 and changed == {}, changed
