"""Accounts from pillar, end to end: edits take effect, bad pillar changes nothing, the
database is hardened and its credential never leaves the host's root-only files."""

from __future__ import annotations

import json
import subprocess

import pytest
from passlib import hash as passlib_hash

from lab import config, mailhost
from tests.system.mailclients import DEFAULTS, imap_login, inbox, send25, tag

MX1 = config.HOSTS["mx1"]
MAIL_ROOT = DEFAULTS["store"]["mail_root"]


def sha512(password: str) -> str:
    return passlib_hash.sha512_crypt.using(rounds=5000).hash(password)


@pytest.fixture(scope="module")
def mail(lab_session):
    lab = lab_session.ensure_up()
    lab.reset_pillar()
    # the runs that generate the database credential (and initialize the store)
    lab.first_apply = mailhost.converge(lab.conf_dir)
    yield lab
    lab.converged()  # the example pillar again (the next module shares it)


def db_fingerprint(lab) -> str:
    """The mail tables' contents, as MariaDB's root sees them on mx1."""
    return lab.sh(
        "mx1",
        "mysql -N mailserver -e 'CHECKSUM TABLE virtual_domains, virtual_users, "
        "virtual_aliases EXTENDED'",
    ).stdout


def test_first_highstate_succeeds_and_the_second_reports_zero_changes(mail):
    rc, data = mail.first_apply
    failed = [k for k, v in data["mx1"].items() if not v["result"]]
    assert rc == 0 and not failed, failed
    rc, data = mail.apply("mx*")
    changed = {v.get("__id__", k): v["changes"] for k, v in data["mx1"].items() if v["changes"]}
    assert rc == 0
    assert changed == {}, f"a second highstate should report zero changes: {changed}"


def test_pillar_edits_add_change_rename_and_remove_a_mailbox(mail):
    pillar = mail.read_pillar()
    pillar["mailboxes"]["dave@example.com"] = {"password_hash": sha512("dave-first")}
    mail.write_pillar(pillar)
    mail.highstate()
    assert imap_login(mail, "dave@example.com", "dave-first")["ok"]
    kept = tag("kept")
    assert send25(mail, ["dave@example.com"], kept)["ok"]
    assert inbox(mail, "dave@example.com", kept, password="dave-first")

    # a new hash: the new password works, the old one no longer does
    pillar["mailboxes"]["dave@example.com"]["password_hash"] = "{BLF-CRYPT}" + (
        passlib_hash.bcrypt.using(ident="2y", rounds=8).hash("dave-second")
    )
    mail.write_pillar(pillar)
    states = mail.highstate()
    synced = next(v for v in states.values() if v["__id__"] == "mailserver-accounts-synced")
    assert synced["changes"] == {"passwords_changed": ["dave@example.com"]}
    assert imap_login(mail, "dave@example.com", "dave-second")["ok"]
    assert not imap_login(mail, "dave@example.com", "dave-first")["ok"]

    # renamed: a new mailbox under the new address; the old address's mail is kept aside,
    # as a removal keeps it, and the old address takes no more mail
    del pillar["mailboxes"]["dave@example.com"]
    pillar["mailboxes"]["david@example.com"] = {"password_hash": sha512("dave-third")}
    mail.write_pillar(pillar)
    mail.highstate()
    assert imap_login(mail, "david@example.com", "dave-third")["ok"]
    assert not imap_login(mail, "dave@example.com", "dave-second")["ok"]
    ret = send25(mail, ["dave@example.com"], tag("gone"))
    assert not ret["ok"] and ret["code"] == 550
    found = mail.sh("mx1", f"grep -rl '{kept}' {MAIL_ROOT}/.removed/example.com/", check=False)
    assert "/dave." in found.stdout, "the renamed mailbox's mail should be kept aside"

    # removed: no login, no delivery, but the mail is still on disk (moved aside)
    later = tag("later")
    assert send25(mail, ["david@example.com"], later)["ok"]
    assert inbox(mail, "david@example.com", later, password="dave-third")
    del pillar["mailboxes"]["david@example.com"]
    mail.write_pillar(pillar)
    mail.highstate()
    assert not imap_login(mail, "david@example.com", "dave-third")["ok"]
    ret = send25(mail, ["david@example.com"], tag("gone"))
    assert not ret["ok"] and ret["code"] == 550
    found = mail.sh("mx1", f"grep -rl '{later}' {MAIL_ROOT}/.removed/example.com/", check=False)
    assert "/david." in found.stdout, "the removed mailbox's mail should be kept aside"

    # and only an explicit purge deletes it
    pillar["purge_removed_mailboxes"] = True
    mail.write_pillar(pillar)
    mail.highstate()
    assert mail.sh("mx1", f"test -e {MAIL_ROOT}/.removed", check=False).returncode == 1


def test_test_mode_predicts_the_changes_without_writing(mail):
    before = db_fingerprint(mail)
    pillar = mail.read_pillar()
    pillar["mailboxes"]["erin@example.com"] = {"password_hash": sha512("erin")}
    del pillar["aliases"]["info@example.com"]
    mail.write_pillar(pillar)
    try:
        _rc, data = mail.apply("mx*", "test=True")
    finally:
        mail.reset_pillar()
    synced = next(v for v in data["mx1"].values() if v["__id__"] == "mailserver-accounts-synced")
    assert synced["result"] is None
    assert synced["changes"] == {
        "mailboxes_added": ["erin@example.com"],
        "aliases_removed": [
            "info@example.com -> alice@example.com",
            "info@example.com -> bob@example.com",
        ],
    }
    assert db_fingerprint(mail) == before


def test_database_is_hardened_and_local_only(mail):
    variables = mail.sh(
        "mx1",
        'mysql -N -e "SHOW GLOBAL VARIABLES WHERE Variable_name IN '
        "('local_infile','skip_show_database','bind_address')\"",
    ).stdout
    assert dict(line.split("\t") for line in variables.strip().splitlines()) == {
        "bind_address": "127.0.0.1",
        "local_infile": "OFF",
        "skip_show_database": "ON",
    }
    users = mail.sh("mx1", "mysql -N -e \"SELECT CONCAT(User,'@',Host) FROM mysql.user\"").stdout
    assert "@%" not in users and not any(u.startswith("@") for u in users.split())
    assert "test" not in mail.sh("mx1", "mysql -N -e 'SHOW DATABASES'").stdout.split()
    # and nothing outside reaches it
    ret = mail.sh("peer", f"nc -z -w 3 {MX1.ip4} 3306", check=False)
    assert ret.returncode != 0


def test_reader_may_only_select(mail):
    conf = "/etc/dovecot/dovecot-sql.conf.ext"
    script = (
        f"pw=$(sed -n 's/.* password=\\([^ ]*\\).*/\\1/p' {conf}); "
        "printf '[client]\\nuser=mailuser\\npassword=%s\\n' \"$pw\" > /root/.reader.cnf; "
        "chmod 600 /root/.reader.cnf; "
        "mysql --defaults-extra-file=/root/.reader.cnf mailserver -N "
        "-e 'SELECT COUNT(*) FROM virtual_users'; "
        "mysql --defaults-extra-file=/root/.reader.cnf mailserver "
        "-e \"DELETE FROM virtual_users WHERE email='bob@example.com'\"; "
        "echo rc=$?; rm -f /root/.reader.cnf"
    )
    out = mail.sh("mx1", script, check=False)
    assert out.stdout.splitlines()[0].strip().isdigit()
    assert "rc=1" in out.stdout and "DELETE command denied" in out.stderr


def test_the_database_credential_stays_in_root_only_files(mail, lab_session):
    secret = mail.sh("mx1", "cat /etc/mailserver/db-reader.secret").stdout.strip()
    assert len(secret) >= 32
    modes = mail.sh(
        "mx1",
        "stat -c '%n %U:%G %a' /etc/mailserver/db-reader.secret /etc/dovecot/dovecot-sql.conf.ext "
        "/etc/postfix/sql/*.cf",
    ).stdout.splitlines()
    for line in modes:
        _name, owner, mode = line.split()
        assert (owner, mode) in {("root:root", "600"), ("root:postfix", "640")}, line
    # not in what the master got back, its job cache or logs, nor in the minion's log
    assert secret not in json.dumps(mail.first_apply[1])
    master_root = lab_session.master.config["root_dir"]
    found = mail.sh(
        "mx1", "grep -rlF -f - /var/log /var/cache/salt", input=secret + "\n", check=False
    )
    assert found.stdout == ""
    host = subprocess.run(
        ["grep", "-rl", "-F", secret, str(master_root)], capture_output=True, text=True, check=False
    )
    assert host.stdout == "", host.stdout
