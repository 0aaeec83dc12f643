"""The secrets sweep, after the whole system suite (conftest orders it last but the lab's
teardown): every secret the suite used, searched for everywhere a secret could leak to.

Secrets: the mailbox passwords, the store passphrases, the database reader's password, the
Redis and rspamd web passwords, the webmail's session key, the upgrade guard's probe
password, the mailbox replication secret (where test_multihost made one), the DKIM, DNSSEC
and TLS private keys. Places: the journal, /var/log and Salt's cache on every lab host; the
process arguments on mx1 (sampled all along, lab/sweep.py); on the master its whole root
(job cache, logs) and its event bus (recorded all along); the lab's apt proxy log. Hits
must be 0."""

from __future__ import annotations

from pathlib import Path

from lab import aptproxy, config, container, mailhost, sweep
from tests.system.conftest import report_row
from tests.system.mailclients import DEFAULTS, PASSWORDS

COLUMNS = ("place", "searched", "hits")
SECRET_FILES = {
    "database reader's password": DEFAULTS["mariadb"]["secret_file"],
    "Redis password": DEFAULTS["redis"]["secret_file"],
    "rspamd web password": DEFAULTS["rspamd"]["web_secret_file"],
    "webmail session key": DEFAULTS["webmail"]["key_file"],
    "upgrade guard's probe password": DEFAULTS["updates"]["guard"]["secret_file"],
    "backups' passphrase": DEFAULTS["backup"]["dir"] + "/passphrase",
    # Dovecot's configuration line, "doveadm_password = <secret>" (test_multihost.py)
    "mailbox replication secret": DEFAULTS["dovecot"]["replication"]["secret_file"],
}
# passphrases the store tests set and change (test_store.py)
TEST_PASSPHRASES = ("alpha-7781", "omega-5512")
LIST = "/run/lab-sweep-secrets"  # on each host while it searches; root only

# `make test` runs this module in each lab (each sweeps its own): one table per lab
TABLE = "secrets" if config.SLOT == 0 else f"secrets-lab{config.SLOT}"


def _pem_line(lab, path: str) -> str | None:
    """A line from the middle of a PEM private key: enough to find any copy of it."""
    lines = lab.sh("mx1", f"cat {path}", check=False).stdout.splitlines()
    body = [line for line in lines if line and not line.startswith("-----")]
    return body[len(body) // 2] if len(body) > 2 else None


def secrets(lab) -> dict[str, str]:
    out = {f"{user}'s password": password for user, password in PASSWORDS.items()}
    out["the store passphrase"] = mailhost.STORE_PASSPHRASE
    out.update({f"test passphrase {p}": p for p in TEST_PASSPHRASES})
    for name, path in SECRET_FILES.items():
        value = lab.sh("mx1", f"cat {path}", check=False).stdout.strip()
        value = value.removeprefix("doveadm_password = ")
        if value:
            out[name] = value
    keys = lab.sh("mx1", f"find {DEFAULTS['dkim']['key_dir']} -type f", check=False).stdout
    for path in keys.split():
        if (line := _pem_line(lab, path)) is not None:
            out[f"DKIM key {path}"] = line
    if (line := _pem_line(lab, DEFAULTS["tls"]["key_file"])) is not None:
        out["TLS private key"] = line
    zone_dir = DEFAULTS["dns"]["bind"]["zone_dir"]
    dnssec = lab.sh(
        "mx1", f"grep -h '^PrivateKey:' {zone_dir}/K*.private 2>/dev/null", check=False
    ).stdout
    for i, line in enumerate(dnssec.splitlines()):
        out[f"DNSSEC key {i}"] = line.split(":", 1)[1].strip()
    return {name: value for name, value in out.items() if len(value) >= 8}


def _on_host(host: str, values: list[str]) -> list[tuple[str, int, list[str]]]:
    """(place, how much was searched, the secrets found) for ``host``'s journal, logs,
    Salt's cache and, where sampled, its process arguments."""
    container.sh(host, f"umask 077; cat > {LIST}", input="\n".join(values) + "\n")
    try:
        rows = []
        journal = container.sh(
            host,
            f"journalctl -q -o cat | wc -l; journalctl -q -o cat | grep -oF -f {LIST} | sort -u",
            check=False,
        ).stdout.split("\n", 1)
        rows.append((f"{host}: journal (lines)", int(journal[0]), journal[1].split("\n")))
        for place in ("/var/log", "/var/cache/salt", sweep.ARGV_SEEN):
            out = container.sh(
                host,
                f"test -e {place} || exit 0; find {place} -type f | wc -l; "
                f"grep -rhoaF -f {LIST} {place} | sort -u",
                check=False,
            ).stdout
            if not out:
                continue
            count, _, found = out.partition("\n")
            rows.append((f"{host}: {place}", int(count), found.split("\n")))
        return rows
    finally:
        container.sh(host, f"rm -f {LIST}", check=False)


def _on_master(lab, values: list[str]) -> list[tuple[str, int, list[str]]]:
    rows = []
    places = {
        "master: its root (job cache, logs)": Path(lab.master.config["root_dir"]),
        "master: event bus (recorded)": lab.events_dir,
        "apt proxy log": aptproxy.CONF / "log",
    }
    for place, root in places.items():
        files = [p for p in root.rglob("*") if p.is_file()]
        found = set()
        for path in files:
            data = path.read_bytes()
            found |= {v for v in values if v.encode() in data}
        rows.append((place, len(files), sorted(found)))
    return rows


def test_no_secret_the_suite_used_is_anywhere_it_could_leak_to(mail):
    named = secrets(mail)
    assert len(named) >= 10, sorted(named)  # the sweep knows what to look for
    values = list(named.values())
    by_value = {v: k for k, v in named.items()}
    rows = []
    for host in config.HOSTS:
        if container.leader(host) is not None:
            rows += _on_host(host, values)
    rows += _on_master(mail, values)
    leaks = {}
    for place, searched, found in rows:
        hits = sorted(by_value[v] for v in found if v in by_value)
        report_row(TABLE, COLUMNS, {"place": place, "searched": searched, "hits": len(hits)})
        if hits:
            leaks[place] = hits
    assert leaks == {}, leaks  # names of the secrets, never their values
    assert len(rows) >= 10


def test_the_argv_sampler_saw_the_highstates(mail):
    """The sweep's process arguments are real: the sampler saw the minion's own jobs."""
    seen = mail.sh("mx1", f"cat {sweep.ARGV_SEEN}", check=False).stdout
    assert "salt-minion" in seen and "systemctl" in seen, seen[:500]
