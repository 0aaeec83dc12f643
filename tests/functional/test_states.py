"""Every custom state of the formula, run through Salt's own loaders (pytest-salt-factories'
Loaders, which call state.single): with test=True it predicts exactly the changes the real
run then makes, and a second run (and a second prediction) reports zero changes.

What the states act on is real where it can be on this machine: a private MariaDB server in
a scratch directory (the database states and the accounts), named-checkzone (the zones), the
formula's own files under a scratch tree. Three programs the host must not run for real are
small stand-ins that keep the same files the real ones keep: ufw (rule files), certbot (a
certificate made with openssl), doveadm (no open sessions)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from passlib.hash import sha512_crypt
from saltfactories.utils.functional import Loaders

from tests.conftest import REPO

UFW = r'''#!{python}
"""A stand-in for ufw: the rule files ufw keeps, under $MAILSERVER_ROOT."""
import binascii, os, sys
root = os.environ["MAILSERVER_ROOT"]
ufw = os.path.join(root, "etc/ufw")
args = sys.argv[1:]
def path(name): return os.path.join(ufw, name)
def read(name):
    try: return open(path(name)).read().splitlines(keepends=True)
    except FileNotFoundError: return []
if args in (["--force", "enable"], ["reload"]):
    open(path("ufw.conf"), "w").write("ENABLED=yes\n"); sys.exit(0)
if args == ["status"]:
    on = "ENABLED=yes" in "".join(read("ufw.conf"))
    print("Status: active" if on else "Status: inactive"); sys.exit(0)
delete = args[0] == "delete"
if delete: args = args[1:]
comment = args[args.index("comment") + 1] if "comment" in args else ""
if "comment" in args: args = args[: args.index("comment")]
# allow proto P from SRC [port SPORT] to any [port DPORT]
action, proto, src, rest = args[0], args[2], args[4], args[5:]
sport = "any"
if rest[:1] == ["port"]: sport, rest = rest[1], rest[2:]
dport = rest[3] if rest[2:3] == ["port"] else "any"
for name, anyaddr, fits in (("user.rules", "0.0.0.0/0", ":" not in src),
                            ("user6.rules", "::/0", src == "any" or ":" in src)):
    if not fits: continue
    s = anyaddr if src == "any" else src
    key = f"### tuple ### {{action}} {{proto}} {{dport}} {{anyaddr}} {{sport}} {{s}} in"
    lines = [l for l in read(name) if not l.startswith(key)]
    if not delete:
        lines.append(key + f" comment={{binascii.hexlify(comment.encode()).decode()}}\n")
    open(path(name), "w").write("".join(lines))
'''

CERTBOT = r"""#!/bin/sh
# A stand-in for certbot certonly: a certificate for the -d names, where certbot keeps it.
set -eu
name=""; names=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cert-name) name=$2; shift ;;
    -d) names="$names,DNS:$2"; first=${{first:-$2}}; shift ;;
  esac
  shift
done
live="$MAILSERVER_ROOT/etc/letsencrypt/live/$name"
mkdir -p "$live"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 90 \
  -subj "/CN=$first" -addext "subjectAltName=${{names#,}}" \
  -keyout "$live/privkey.pem" -out "$live/cert.pem" 2>/dev/null
cp "$live/cert.pem" "$live/fullchain.pem"
"""

DOVEADM = "#!/bin/sh\n# A stand-in for doveadm who: nobody is logged in.\necho 'username # proto'\n"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("states")


@pytest.fixture(scope="module")
def mariadb(scratch):
    """A private MariaDB server on a unix socket in a scratch directory."""
    data, sock = scratch / "mysql", scratch / "mysqld.sock"
    subprocess.run(
        ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
         "--auth-root-authentication-method=socket", "--skip-test-db"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    server = subprocess.Popen(
        ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}",
         "--skip-networking", "--user=root", f"--pid-file={scratch / 'mysqld.pid'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not sock.exists():
        assert server.poll() is None and time.monotonic() < deadline, "mariadbd did not start"
        time.sleep(0.2)
    # what mysql_secure_installation removes: an anonymous user
    subprocess.run(
        ["mariadb", "--no-defaults", "-S", str(sock), "-e", "CREATE USER ''@'localhost'"],
        check=True, timeout=30,
    )  # fmt: skip
    yield sock
    server.terminate()
    server.wait(timeout=60)


@pytest.fixture(scope="module")
def harness(scratch, mariadb):
    """Salt's loaders with a pillar whose paths all lie under the scratch directory, the
    stand-ins first on PATH, and `mailserver_root` pointing at a scratch tree."""
    root = scratch / "root"
    for sub in ("etc/ufw", "etc/default", "proc/sys/net/ipv4"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "proc/sys/net/ipv4/tcp_syncookies").write_text("0\n")
    bindir = scratch / "bin"
    bindir.mkdir()
    for name, text in (
        ("ufw", UFW.format(python=sys.executable)),
        ("certbot", CERTBOT.format()),
        ("doveadm", DOVEADM),
    ):
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    example = yaml.safe_load((REPO / "pillar/mailserver.sls").read_text())
    example["mailserver"].update(
        {
            "mariadb": {"socket": str(mariadb), "secret_file": str(scratch / "db.secret")},
            "postfix": {"sql_dir": str(scratch / "postfix-sql"), "group": "root"},
            "dovecot": {"sql_file": str(scratch / "dovecot-sql.conf")},
            "dkim": {"key_dir": str(scratch / "dkim"), "dir": str(scratch), "user": "root"},
            "tls": {"cert_file": str(scratch / "nonexistent.pem")},
            "redis": {
                "user": "root",
                "config_file": str(scratch / "redis/mailserver.conf"),
                "secret_file": str(scratch / "redis.secret"),
            },
            "rspamd": {
                "user": "root",
                "local_dir": str(scratch / "rspamd"),
                "web_ui": True,
                "web_secret_file": str(scratch / "rspamd-web.secret"),
                "web_htpasswd_file": str(scratch / "rspamd.htpasswd"),
            },
            "web": {"group": "root"},
            "dns": {
                "authoritative": {"enabled": True},
                "bind": {"zone_dir": str(scratch / "zones")},
            },
        }
    )
    (scratch / "zones").mkdir()
    pillar = scratch / "pillar"
    pillar.mkdir()
    (pillar / "top.sls").write_text("base:\n  '*':\n    - mailserver\n")
    (pillar / "mailserver.sls").write_text(yaml.safe_dump(example))
    opts = {
        "id": "mx1",
        "file_client": "local",
        "file_roots": {"base": [str(REPO / "salt")]},
        "pillar_roots": {"base": [str(pillar)]},
        "module_dirs": [str(REPO)],
        "root_dir": str(scratch / "salt"),
        "cachedir": str(scratch / "salt/cache"),
        "pki_dir": str(scratch / "salt/pki"),
        "mailserver_settings_file": str(scratch / "settings.json"),
        "mailserver_root": str(root),
    }
    environ = {"PATH": f"{bindir}:{os.environ['PATH']}", "MAILSERVER_ROOT": str(root)}
    saved = {k: os.environ.get(k) for k in environ}
    os.environ.update(environ)
    from salt.config import DEFAULT_MINION_OPTS  # pylint: disable=import-outside-toplevel

    loaders = Loaders({**DEFAULT_MINION_OPTS, **opts})
    loaders.scratch, loaders.root = scratch, root
    yield loaders
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def predicts_then_converges(state, **kwargs) -> dict:
    """test=True predicts changes; the run makes exactly those; then nothing is left to do."""
    predicted = state(test=True, **kwargs)
    assert predicted.result is None and predicted.changes, predicted
    done = state(**kwargs)
    assert done.result is True, done
    assert done.changes == predicted.changes, (predicted.changes, done.changes)
    again = state(**kwargs)
    assert again.result is True and again.changes == {}, again
    quiet = state(test=True, **kwargs)
    assert quiet.result is True and quiet.changes == {}, quiet
    return done.changes


@pytest.fixture(scope="module")
def snapshot(harness):
    """The model of the harness's pillar, written by the snapshot state (the first test)."""
    path = str(harness.scratch / "settings.json")
    changes = predicts_then_converges(harness.states.mailserver.snapshot, name=path)
    assert changes == {"snapshot": path}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    return json.loads(Path(path).read_text())


def test_the_snapshot_holds_the_model(snapshot):
    assert snapshot["hostname"] == "mx1.example.com"
    assert snapshot["dns"]["zones"] == ["example.com", "example.org"]


def test_dkim_keys(harness, snapshot):
    dkim = snapshot["dkim"]
    changes = predicts_then_converges(
        harness.states.mailserver_dkim.keys_present,
        name=dkim["key_dir"], domains=snapshot["accounts"]["domains"], bits=1024, user="root",
    )  # fmt: skip
    assert set(changes) == {"example.com", "example.org"}
    assert all(c["new key"].startswith("s") for c in changes.values())


def test_zones(harness, snapshot):
    zone_dir = snapshot["dns"]["bind"]["zone_dir"]
    changes = predicts_then_converges(
        harness.states.mailserver_bind.zones_written, name=zone_dir, user="root", group="root"
    )
    assert set(changes) == {"example.com", "example.org"}
    text = (Path(zone_dir) / "example.org.zone").read_text()
    assert "example.org. 3600 IN MX 10 mx1.example.com." in text


def test_database_hardening_schema_and_reader(harness, snapshot):
    db = snapshot["mariadb"]
    removed = predicts_then_converges(harness.states.mailserver_db.secured, name="mariadb")
    assert removed == {"removed": ["anonymous user ''@'localhost'"]}
    created = predicts_then_converges(
        harness.states.mailserver_db.schema_present, name=db["database"]
    )
    assert created["created"][0] == f"database {db['database']}"
    done = predicts_then_converges(harness.states.mailserver_db.reader_present, name=db["reader"])
    assert any("write" in step for step in done["done"])
    secret = Path(db["secret_file"]).read_text().strip()
    assert len(secret) >= 32 and secret not in json.dumps(done)


def test_the_redis_password_and_the_files_that_carry_it(harness, snapshot):
    redis, rspamd = snapshot["redis"], snapshot["rspamd"]
    done = predicts_then_converges(
        harness.states.mailserver_spam.secrets_present, name=redis["secret_file"]
    )
    assert done["done"][0].startswith("generate the password")
    secret = Path(redis["secret_file"]).read_text().strip()
    assert len(secret) >= 32 and secret not in json.dumps(done)
    assert stat.S_IMODE(os.stat(redis["secret_file"]).st_mode) == 0o600
    conf = Path(redis["config_file"]).read_text()
    assert f"requirepass {secret}\n" in conf and "bind 127.0.0.1 -::1\n" in conf
    assert f"dir {redis['dir']}\n" in conf  # the data inside the store
    client = Path(rspamd["local_dir"], "redis.conf").read_text()
    assert f'password = "{secret}";' in client
    for path in (redis["config_file"], Path(rspamd["local_dir"], "redis.conf")):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    # the web interface's password, and the hash nginx checks (salted: checked, not compared)
    web = Path(rspamd["web_secret_file"]).read_text().strip()
    assert len(web) >= 32 and web not in json.dumps(done) and web != secret
    user, _, hashed = Path(rspamd["web_htpasswd_file"]).read_text().strip().partition(":")
    assert user == "rspamd" and sha512_crypt.verify(web, hashed)
    assert stat.S_IMODE(os.stat(rspamd["web_htpasswd_file"]).st_mode) == 0o640
    # a file changed by hand is put back, the password kept
    Path(redis["config_file"]).write_text("requirepass hunter2\n")
    again = predicts_then_converges(
        harness.states.mailserver_spam.secrets_present, name=redis["secret_file"]
    )
    assert again == {"done": [f"write {redis['config_file']}"]}
    assert Path(redis["secret_file"]).read_text().strip() == secret


def test_accounts(harness, snapshot):
    changes = predicts_then_converges(
        harness.states.mailserver_accounts.synced, name=snapshot["mariadb"]["database"]
    )
    assert changes["mailboxes_added"] == [
        "alice@example.com", "bob@example.com", "carol@example.org",
    ]  # fmt: skip
    assert "$6$" not in json.dumps(changes) and "$2y$" not in json.dumps(changes)


def test_firewall(harness, snapshot):
    changes = predicts_then_converges(harness.states.mailserver_firewall.enabled, name="ufw")
    assert changes["enabled"] is True
    assert "mailserver smtp: to port 25/tcp" in changes["add"]


def test_kernel_settings(harness, snapshot):
    settings = {"net.ipv4.tcp_syncookies": 1, "fs.no_such_setting": 1}
    changes = predicts_then_converges(
        harness.states.mailserver_host.sysctl_applied, name="kernel", settings=settings
    )
    assert changes == {"net.ipv4.tcp_syncookies": {"old": "0", "new": "1"}}
    proc = harness.root / "proc/sys/net/ipv4/tcp_syncookies"
    assert proc.read_text().strip() == "1"
    done = harness.states.mailserver_host.sysctl_applied(name="kernel", settings=settings)
    assert "fs.no_such_setting" in done.comment  # skipped, and named


def test_acme_certificate(harness, snapshot):
    names = snapshot["tls"]["names"]
    changes = predicts_then_converges(
        harness.states.mailserver_acme.certificate,
        name="mailserver", domains=names, server="https://acme.invalid/directory",
    )  # fmt: skip
    assert changes == {"names": {"old": None, "new": sorted(names)}}


def test_the_store_state_fails_until_the_store_is_open_and_changes_nothing(harness, snapshot):
    state = harness.states.mailserver_store.unlocked
    store = snapshot["store"]
    shutil.rmtree(store["cipher_dir"], ignore_errors=True)
    for test in (True, False):  # the same verdict predicted and done: never a change
        ret = state(name=store["mount_point"], test=test)
        assert ret.result is False and ret.changes == {}
        assert "mailserver_store.initialize" in ret.comment
    settings = harness.scratch / "settings.json"
    model = json.loads(settings.read_text())
    cipher = harness.scratch / "cipher"
    cipher.mkdir()
    (cipher / "gocryptfs.conf").write_text("{}")
    model["store"].update(backend="gocryptfs", cipher_dir=str(cipher), mount_point="/proc")
    settings.write_text(json.dumps(model))  # the store "mounted": /proc is a mount point
    for test in (True, False):
        ret = state(name="/proc", test=test)
        assert ret.result is True and ret.changes == {}, ret
