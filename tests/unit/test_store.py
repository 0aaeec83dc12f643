"""Unit tests of the store module and the runner's sealing: no FUSE, no daemons."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import REPO


@pytest.fixture
def store(minion, tmp_path):
    minion.opts["pki_dir"] = str(tmp_path / "pki")
    return minion.mods["mailserver_store"]


def configure(tmp_path, backend="encfs", mount_point=None):
    """The snapshot a highstate writes, as far as the store is concerned."""
    store = {
        "backend": backend,
        "cipher_dir": str(tmp_path / "cipher"),
        "mount_point": mount_point or str(tmp_path / "plain"),
        "dependents": ["dovecot.service"],
        "subdirs": [],
    }
    (tmp_path / "settings.json").write_text(json.dumps({"store": store}))
    (tmp_path / "cipher").mkdir(exist_ok=True)


def test_status_walks_unconfigured_uninitialized_locked_unlocked(store, tmp_path):
    assert store.status() == {"state": "unconfigured"}
    configure(tmp_path)
    st = store.status()
    assert st["state"] == "uninitialized"
    assert st["initialize"].startswith("salt-call mailserver_store.initialize")
    (tmp_path / "cipher" / ".encfs6.xml").write_text("<xml/>")
    st = store.status()
    assert st["state"] == "locked"
    assert "salt-run mailserver.unlock mx1" in st["unlock"]
    configure(tmp_path, mount_point="/")  # "/" is always a mount point
    assert store.status()["state"] == "unlocked"


def test_a_masterless_host_is_told_the_masterless_commands(store, tmp_path):
    store.__opts__["file_client"] = "local"
    configure(tmp_path)
    assert store.status()["initialize"].startswith("salt-call --local mailserver_store.initialize")
    (tmp_path / "cipher" / ".encfs6.xml").write_text("<xml/>")
    assert store.status()["unlock"] == "salt-call --local mailserver_store.unlock   (on the host)"


def test_tool_output_never_carries_the_passphrase(store):
    rc, out = store._run(
        ["sh", "-c", 'read p; echo "bad password: $p" >&2; exit 1'], ["hunter2 secret"]
    )
    assert rc == 1
    assert "hunter2" not in out and "***" in out


def test_a_passphrase_sealed_by_the_runner_opens_only_with_the_minions_key(store, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "minion.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    master_pki = tmp_path / "master"
    (master_pki / "minions").mkdir(parents=True)
    (master_pki / "minions" / "mx1").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    spec = importlib.util.spec_from_file_location("unit_runner", REPO / "_runners/mailserver.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    runner.__opts__ = {"pki_dir": str(master_pki)}
    sealed = runner._seal("mx1", "correct horse")
    assert "correct horse" not in json.dumps(sealed)
    assert store._unseal(sealed) == "correct horse"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "pki" / "minion.pem").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(store.CommandExecutionError, match="not for this minion"):
        store._unseal(sealed)


def test_a_lock_that_cannot_unmount_names_who_holds_the_store(store, tmp_path):
    mount = tmp_path / "plain"
    mount.mkdir()
    (mount / "db").write_text("x")
    with open(mount / "db") as held:
        found = store._holders(str(mount))
        assert any(name.endswith(f"[{os.getpid()}]") for name in found), (found, held)
    assert not [n for n in store._holders(str(mount)) if n.endswith(f"[{os.getpid()}]")]
