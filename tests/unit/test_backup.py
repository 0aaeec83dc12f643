"""Unit tests of the backups' settings, the status check's item and the key's sealing to the
master: no borg, no SSH, no daemon."""

from __future__ import annotations

import datetime
import importlib.util
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from salt.exceptions import SaltInvocationError

from tests.conftest import REPO

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJWUMTS/syQoodXVC6DuUNMnn/PVmGb8LIlzFP973B6n"
ON = {
    "enabled": True,
    "repository": "ssh://borg@backup.example.net:2222/./mx1",
    "host_key": HOST_KEY,
}


def test_off_by_default_and_nothing_to_check(model, minion):
    backup = model()["backup"]
    assert backup["enabled"] is False and backup["target"] is None


def test_what_a_backup_holds_is_the_ciphertext_never_the_mount_point(model):
    backup = model(backup=ON)["backup"]
    assert "/mail/encrypted-mail" in backup["sources"]
    assert "/etc/mailserver" in backup["sources"]
    assert "/etc/opendkim/keys" in backup["sources"]
    assert backup["excludes"] == ["/mail/decrypted-mail", "/etc/mailserver/backup"]
    assert "/etc/letsencrypt" not in backup["sources"]  # only with ACME
    assert not any(s.startswith("/mail/decrypted-mail") for s in backup["sources"])
    assert backup["target"] == {
        "host": "backup.example.net", "port": 2222, "user": "borg", "path": "mx1"
    }  # fmt: skip
    other = model(backup={**ON, "repository": "ssh://b@[2001:db8::5]/srv/borg/mx1"})["backup"]
    assert other["target"]["host"] == "2001:db8::5" and other["target"]["path"] == "/srv/borg/mx1"
    assert backup["database"] == "mailserver"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"repository": "backup.example.net:/srv/mx1"}, "backup:repository: 'backup.example"),
        ({"repository": "ssh://borg@host:99999/x"}, "backup:repository: 99999 is not a port"),
        ({"host_key": ""}, "backup:host_key: must be the target's SSH host key"),
        ({"host_key": "backup.example.net " + HOST_KEY}, "backup:host_key: must be"),
        ({"keep": {"daily": -1}}, "backup:keep:daily: -1 is not 0..1000"),
        ({"keep": {"daily": 0, "weekly": 0, "monthly": 0}}, "backup:keep: keeps no archive"),
        ({"check_every": "weekly"}, "backup:check_every: 'weekly' is not like"),
        ({"max_age_hours": 0}, "backup:max_age_hours: 0 is not 1..744"),
        ({"schedule": "daily\nExecStart=/bin/sh"}, "backup:schedule: 'daily\\nExecStart"),
        ({"enabled": "yes"}, "backup:enabled: must be bool"),
    ],
)
def test_bad_backup_pillar_names_key_and_reason(model, patch, message):
    with pytest.raises(SaltInvocationError) as err:
        model(backup={**ON, **patch})
    assert str(err.value).startswith(f"pillar mailserver:{message}"), str(err.value)


def test_the_targets_host_key_is_pinned_with_its_port(model):
    assert model(backup=ON)["backup"]["known_hosts"] == f"[backup.example.net]:2222 {HOST_KEY}\n"
    on22 = model(backup={**ON, "repository": "ssh://borg@10.0.0.5/./mx1"})["backup"]
    assert on22["known_hosts"] == f"10.0.0.5 {HOST_KEY}\n"
    assert model()["backup"]["known_hosts"] == ""


@pytest.fixture
def settings(model, tmp_path):
    s = model(backup=ON)
    s["backup"]["result_file"] = str(tmp_path / "backup.json")
    return s


def _items(minion, settings, result, hours_later=1.0):
    if result is not None:
        with open(settings["backup"]["result_file"], "w", encoding="utf-8") as fh:
            json.dump(result, fh)
    minion.salt["mailserver.current"] = lambda: settings
    now = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.UTC)
    return minion.mods["mailserver_backup"].check_items(
        settings, now + datetime.timedelta(hours=hours_later)
    )


GOOD = {
    "ok": True,
    "ran_at": "2026-12-02T12:00:00+00:00",
    "last_success": "2026-12-02T12:00:00+00:00",
}


def test_the_status_check_wants_a_recent_good_backup(minion, settings):
    [item] = _items(minion, settings, None)
    assert not item["ok"] and "no backup yet" in item["detail"]
    [item] = _items(minion, settings, GOOD, hours_later=3)
    assert item["ok"] and item["detail"] == "last good backup 3.0 h ago"
    [item] = _items(minion, settings, GOOD, hours_later=30)
    assert not item["ok"] and "more than 26 h" in item["detail"]
    failed = {**GOOD, "ok": False, "detail": "backup failed (exit-code, exit status 2)"}
    [item] = _items(minion, settings, failed)
    assert not item["ok"] and item["detail"] == failed["detail"]


def test_a_failed_run_is_kept_and_sent_to_the_master(minion, settings, monkeypatch):
    sent = []
    minion.salt["mailserver.current"] = lambda: settings
    minion.salt["event.send"] = lambda tag, data: sent.append((tag, data))
    monkeypatch.setenv("SERVICE_RESULT", "exit-code")
    monkeypatch.setenv("EXIT_STATUS", "2")
    result = minion.mods["mailserver_backup"].after_run()
    assert result["ok"] is False and result["last_success"] is None
    assert sent == [("mailserver/backup/failed", {"detail": result["detail"]})]
    assert minion.context["retcode"] == 1
    monkeypatch.setenv("SERVICE_RESULT", "success")
    monkeypatch.setenv("EXIT_STATUS", "0")
    ok = minion.mods["mailserver_backup"].after_run()
    assert ok["ok"] and ok["last_success"] == ok["ran_at"] and len(sent) == 1


# the service's stderr: borgmatic's errors (its console lines, the message alone) and
# borg's and ssh's own words, in the order they came
LOG = """\
ssh://borg@peer.example.net/srv/borg/mx1: Error running actions for repository
Remote: ssh: connect to host peer.example.net port 22: Connection refused
Connection closed by remote host. Is borg working on the server?
Command 'borg create ...' returned non-zero exit status 2.
summary:
ssh://borg@peer.example.net/srv/borg/mx1: Error running actions for repository
"""


def test_a_failed_run_names_its_cause_not_its_consequences(minion, settings, monkeypatch, tmp_path):
    # borgmatic's summary logs "Error running actions" before the output that holds the
    # cause; the run's own error file is read, not the journal (which can take it in late)
    settings["backup"]["log_file"] = str(tmp_path / "backup.log")
    (tmp_path / "backup.log").write_text(LOG)
    minion.salt["mailserver.current"] = lambda: settings
    minion.salt["event.send"] = lambda tag, data: None
    monkeypatch.setenv("SERVICE_RESULT", "exit-code")
    result = minion.mods["mailserver_backup"].after_run()
    assert result["detail"].endswith("port 22: Connection refused"), result
    assert "CRITICAL" not in result["detail"]


def _pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def test_the_key_and_passphrase_travel_sealed_to_the_master_only(minion, settings, tmp_path):
    master = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    minion_pki, master_pki = tmp_path / "pki", tmp_path / "master"
    minion_pki.mkdir()
    master_pki.mkdir()
    (master_pki / "master.pem").write_bytes(_pem(master))
    (minion_pki / "minion_master.pub").write_bytes(
        master.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    backup = settings["backup"]
    backup["dir"] = str(tmp_path / "backup")
    backup["passphrase_file"] = str(tmp_path / "backup" / "passphrase")
    (tmp_path / "backup" / "keys").mkdir(parents=True)
    (tmp_path / "backup" / "keys" / "backup_example_net__mx1").write_text("BORG_KEY abc\n")
    (tmp_path / "backup" / "passphrase").write_text("correct horse battery\n")
    minion.opts["pki_dir"] = str(minion_pki)
    minion.salt["mailserver.current"] = lambda: settings
    sealed = minion.mods["mailserver_backup"].export_sealed()
    assert "correct horse" not in json.dumps(sealed) and "BORG_KEY" not in json.dumps(sealed)
    spec = importlib.util.spec_from_file_location("unit_runner_b", REPO / "_runners/mailserver.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    runner.__opts__ = {"pki_dir": str(master_pki)}
    opened = runner._unseal_from(sealed)
    assert opened["passphrase"] == "correct horse battery"
    assert opened["keys"] == {"backup_example_net__mx1": "BORG_KEY abc\n"}
    (master_pki / "master.pem").write_bytes(
        _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    )
    with pytest.raises(ValueError):
        runner._unseal_from(sealed)


SAVED = """\
# Backups of mx1: keep this offline. With it and access to the repository,
# anyone can read the backups (the mail in them stays encrypted by the store).
# repository: ssh://borg@backup.example.net:2222/./mx1
# passphrase: correct horse battery
# key file (BORG_KEYS_DIR/backup_example_net__mx1):
BORG_KEY 0123abcd
hqlhbGdvcml0aG2m
c2hhMjU2pGRhdGHa==
minion:
    mx1
printed:
    True
"""


def test_the_admins_copy_is_read_back_as_printed(minion):
    saved = minion.mods["mailserver_backup"]._parse_saved(SAVED)
    key = "BORG_KEY 0123abcd\nhqlhbGdvcml0aG2m\nc2hhMjU2pGRhdGHa==\n"
    assert saved == {
        "repository": "ssh://borg@backup.example.net:2222/./mx1",
        "passphrase": "correct horse battery",
        "keys": {"backup_example_net__mx1": key},
    }
    for cut, missing in (("# passphrase", "no passphrase"), ("BORG_KEY", "no key file")):
        text = "\n".join(line for line in SAVED.splitlines() if not line.startswith(cut))
        with pytest.raises(SaltInvocationError, match=missing) as err:
            minion.mods["mailserver_backup"]._parse_saved(text)
        assert "correct horse" not in str(err.value)


def test_a_restore_refuses_a_host_with_mail_and_a_copy_of_another_repository(minion, settings):
    minion.salt["mailserver.current"] = lambda: settings
    minion.salt["mailserver_store.status"] = lambda: {"state": "locked"}
    restore = minion.mods["mailserver_backup"].restore
    minion.opts["pki_dir"] = "/etc/salt/pki/minion"
    sealed_copy = {"text": SAVED}
    minion.utils["mailserver_seal.unseal"] = lambda key, sealed: sealed["text"].encode()
    with pytest.raises(minion.mods["mailserver_backup"].CommandExecutionError, match="is locked"):
        restore(sealed=sealed_copy)
    other = {"text": SAVED.replace("/./mx1", "/./mx9")}
    with pytest.raises(minion.mods["mailserver_backup"].CommandExecutionError, match="mx9"):
        restore(sealed=other, force=True)


def test_clearing_before_a_restore_keeps_the_excluded_paths(minion, tmp_path):
    root = tmp_path / "etc"
    for path in ("tls/key.pem", "secret", "backup/keys/k", "backup/passphrase", "sub/x/y"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x")
    minion.mods["mailserver_backup"]._clear(str(root), [str(root / "backup")])
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    assert left == ["backup", "backup/keys", "backup/keys/k", "backup/passphrase"]


def test_restore_mail_puts_back_a_message_and_a_folder_without_doubling(minion, settings, tmp_path):
    """The plaintext view and the 'ciphertext' are one directory here (a symlink keeps the
    inode numbers, as the store's backends do); borgmatic's listing and extraction stand in."""
    mount, cipher = tmp_path / "plain", tmp_path / "cipher"
    box = mount / "example.com" / "alice" / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    (box / "cur" / "1.kept:2,S").write_text("kept")  # was new/1.kept at the backup
    cipher.symlink_to(mount)
    top = cipher / "example.com" / "alice" / "Maildir"
    archived = {
        f"{top}/cur": "d",
        f"{top}/new": "d",
        f"{top}/new/1.kept": "-",
        f"{top}/cur/2.gone:2,": "-",
        f"{top}/.Old": "d",
        f"{top}/.Old/cur": "d",
        f"{top}/.Old/cur/3.old:2,": "-",
    }
    extracted = []

    def borgmatic(*args, what):
        if args[0] == "rlist":
            return json.dumps([{"archives": [{"name": "mx1-1"}]}])
        if args[0] == "list":
            return "".join(f"{k} {p.lstrip('/')}\n" for p, k in archived.items())
        paths = args[args.index("--path") + 1 :]
        for path in paths:  # what borg would write: the file, or the folder with its tree
            for p, kind in archived.items():
                if p.lstrip("/") == path or p.lstrip("/").startswith(path + "/"):
                    (os.makedirs if kind == "d" else lambda q: open(q, "w").close())(p)
        extracted.extend(paths)
        return ""

    settings["store"].update(
        mount_point=str(mount), cipher_dir=str(cipher), mailbox_dir=str(mount) + "/{domain}/{local}"
    )
    backup_mod = minion.mods["mailserver_backup"]
    minion.salt["mailserver.current"] = lambda: settings
    minion.salt["mailserver_store.status"] = lambda: {"state": "unlocked"}
    minion.salt["cmd.run_all"] = lambda *a, **k: {"retcode": 0, "stdout": "", "stderr": ""}
    backup_mod._borgmatic = borgmatic
    ret = backup_mod.restore_mail("alice@example.com")
    assert ret == {"archive": "mx1-1", "mailbox": "alice@example.com", "messages": 1, "folders": 1}
    assert sorted(os.listdir(box / "cur")) == ["1.kept:2,S", "2.gone:2,"]
    assert os.listdir(box / "new") == []  # the copy of the kept message went again
    assert os.listdir(box / ".Old" / "cur") == ["3.old:2,"]
