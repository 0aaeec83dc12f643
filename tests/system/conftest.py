"""System tier: the lab, driven by a real salt-master from pytest-salt-factories.

One lab per test session. ``lab`` hands tests a LabSession; a test that tears the lab down
(the teardown test) leaves it down, and the next test that asks for ``lab`` brings it up
again from the cached images.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from lab import config, dns, mailhost, master, sweep
from lab import lab as labmod
from lab.probe import probe
from tests.system.mailclients import FAMILIES
from tests.system.masterless import Scenario

# the factories' event listener logs each event it receives and expires with all its data
# (a highstate's return is hundreds of kB): formatted for every test's captured log, that
# cost about as much CPU as the lab's services. Its warnings still show.
logging.getLogger("saltfactories.plugins.event_listener").setLevel(logging.WARNING)

TIMINGS: dict[str, float] = {}  # this session's bring-up figures, for the summary
# what takes the lab apart runs last, so every other test shares one bring-up
LAST = (
    "test_secrets.py",
    "test_clean.py",
    "test_lab.py::test_teardown_after_a_crash_leaves_nothing_behind",
)


SELECTED = {"masterless": False}
# tables of figures a test suite prints at the end (and writes to build/artifacts/NAME.txt)
TABLES: dict[str, tuple[tuple[str, ...], list[dict]]] = {}


def report_row(table: str, columns: tuple[str, ...], row: dict) -> None:
    """Add a row to ``table``, printed with the run's summary."""
    TABLES.setdefault(table, (columns, []))[1].append(row)


def _format(columns: tuple[str, ...], rows: list[dict]) -> list[str]:
    cells = [[str(c) for c in columns]] + [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return [
        "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w)
            for i, (v, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    ]


# what a highstate would change on mx1, in one digest: a module whose fixture finds it as the
# last converge left it (same pillar) shares that converge instead of running another
CONVERGED = "/run/mailserver-lab-converged"  # tmpfs: a reboot forgets it
HOST_STATE = rf"""set -e
test -e {CONVERGED}
# files written, made or removed since (directories too: an entry added or removed)
find /etc /usr/local /var/www /var/lib/bind /var/lib/dpkg/status -xdev -newer {CONVERGED} | sort
systemctl list-units --type=service --state=running --no-legend --plain | cut -d' ' -f1
mountpoint /mail/decrypted-mail
mysql -N mailserver -e 'CHECKSUM TABLE virtual_domains, virtual_users, virtual_aliases,
    locked_mailboxes EXTENDED'
ufw status verbose
"""


def pytest_collection_modifyitems(items):
    def rank(item):
        return next((i for i, end in enumerate(LAST, 1) if end in item.nodeid), 0)

    items.sort(key=rank)  # stable: everything else keeps its order
    SELECTED["masterless"] = any("test_masterless.py" in item.nodeid for item in items)


class LabSession:
    def __init__(self, salt_factories):
        self._factories = salt_factories
        self._stack: contextlib.ExitStack | None = None
        self.master = None
        self.timings: dict[str, float] = {}
        # the master serves a copy of pillar/, so tests can edit pillar as a user would
        self.pillar_dir = Path(tempfile.mkdtemp(prefix="lab-pillar-"))
        shutil.copytree(config.REPO / "pillar", self.pillar_dir, dirs_exist_ok=True)
        self.reset_pillar()
        self.auto_unlock_dir = Path(tempfile.mkdtemp(prefix="lab-auto-unlock-"))
        self.masterless: Scenario | None = None
        # for the secrets sweep: the master's events of every lab this session brought up
        self.events_dir = Path(tempfile.mkdtemp(prefix="lab-events-"))
        self._events: sweep.EventRecorder | None = None

    @property
    def conf_dir(self) -> Path:
        return Path(self.master.config_dir)

    def ensure_up(self) -> LabSession:
        if self._stack is not None:
            return self
        if os.geteuid() != 0:
            pytest.fail("the lab needs root (network namespaces, mounts, nspawn)")
        self._stack = contextlib.ExitStack()

        def start_master():
            overrides = master.config()
            overrides["pillar_roots"] = {"base": [str(config.LAB_PILLAR), str(self.pillar_dir)]}
            # the optional network-bound unlock: on only while a passphrase file is there
            overrides["mailserver"]["auto_unlock_dir"] = str(self.auto_unlock_dir)
            # pytest-salt-factories ships every record of the master's log to this process
            # (debug by default: each event's whole data, a highstate's return among them,
            # formatted again here for every test's captured log); warnings and errors
            # still come, and the master's own log file keeps debug for the secrets sweep
            overrides["pytest-master"] = {"log": {"level": "warning"}}
            # Salt's own ports, which a minion that knows only its master's address uses
            overrides.update(master.PORTS)
            self.master = self._factories.salt_master_daemon("lab-master", overrides=overrides)
            self._stack.enter_context(self.master.started(start_timeout=120))
            return Path(self.master.config["pki_dir"])

        try:
            self.timings = labmod.up(start_master)
            self.timings["minion"] = master.wait_ping(self.conf_dir, "mx1")
            n = len(list(self.events_dir.iterdir()))
            self._events = sweep.EventRecorder(self.conf_dir, self.events_dir / f"{n}.events")
            sweep.ensure_sampler("mx1")
        except BaseException:
            self.down(check=False)
            raise
        TIMINGS.update(self.timings)
        if SELECTED["masterless"]:  # mx2's scenario runs beside the tests of mx1
            self.masterless = Scenario(self)
            self.masterless.start()
        return self

    def down(self, check: bool = True) -> None:
        if self.masterless is not None:
            self.masterless.join()
            self.masterless = None
        if self._events is not None:
            self._events.stop()
            self._events = None
        if self._stack is not None:
            self._stack.close()
            self._stack = None
        if check:
            labmod.down()
        else:
            labmod.cleanup()

    # --- what tests use ------------------------------------------------------------------
    def salt(self, *args: str, **kw):
        return master.salt(self.conf_dir, *args, **kw)

    def salt_json(self, *args: str, tool: str = "salt") -> dict:
        """A salt CLI call's JSON output, merged over minions (``{minion: return}``)."""
        return master.json_docs(self.salt(*args, "--out=json", tool=tool).stdout)

    def unlock_through_master(self, host: str = "mx1") -> subprocess.CompletedProcess:
        """``salt-run mailserver.unlock mx1``, the passphrase on standard input, as an admin
        unlocks (the master seals it to the minion; its reactor restarts the services)."""
        return subprocess.run(
            [master._bin("salt-run"), "-c", str(self.conf_dir), "mailserver.unlock", host],
            input=mailhost.STORE_PASSPHRASE + "\n",
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def status_check(self) -> tuple[int, dict]:
        """``salt mx1 mailserver_status.check``: its exit status and its return."""
        proc = self.salt("mx1", "mailserver_status.check", "--out=json", check=False)
        return proc.returncode, master.json_docs(proc.stdout)["mx1"]

    def files_holding(self, text: str) -> tuple[str, str]:
        """Which files hold ``text``: on mx1 its logs and Salt's cache, on the master its
        whole root (job cache, mine, logs); grep's lists, empty when none does."""
        # the text on grep's standard input, never its arguments (the sweep samples those)
        minion = self.sh(
            "mx1", "grep -rlF -f - /var/log /var/cache/salt", input=text + "\n", check=False
        )
        root = str(self.master.config["root_dir"])
        on_master = subprocess.run(["grep", "-rlF", text, root], capture_output=True, text=True)
        return minion.stdout, on_master.stdout

    def apply(self, tgt: str = "mx*", *args: str):
        sweep.ensure_sampler("mx1")
        return master.apply(self.conf_dir, tgt, *args)

    def rebuild_mx1(self) -> float:
        """Destroy mx1 and boot a fresh one from the minimal image (a new disk and minion
        key, accepted on the master); seconds until it answers."""
        self._converged = None
        took = labmod.rebuild("mx1", Path(self.master.config["pki_dir"]))
        took += master.wait_ping(self.conf_dir, "mx1")
        sweep.ensure_sampler("mx1")
        return took

    def ufw_active(self, host: str = "mx1") -> bool:
        return "Status: active" in self.sh(host, "ufw status", check=False).stdout

    def sh(self, host: str, script: str, **kw):
        return labmod.sh(host, script, **kw)

    def host_state(self) -> str | None:
        """mx1's state as a highstate sees it (HOST_STATE), None when unknown."""
        proc = self.sh("mx1", HOST_STATE, check=False)
        return proc.stdout if proc.returncode == 0 else None

    def converged(self) -> bool:
        """mx1 converged on the example pillar: a highstate, unless mx1 is as the last one
        this method ran left it (the same pillar, files, services, store, accounts and
        firewall); True when a highstate ran."""
        self.reset_pillar()
        pillar = self.pillar_file.read_bytes()
        last = getattr(self, "_converged", None)
        if last is not None and last == (pillar, self.host_state()):
            TIMINGS["converges_shared"] = TIMINGS.get("converges_shared", 0) + 1
            return False
        TIMINGS["converges"] = TIMINGS.get("converges", 0) + 1
        self._converged = None
        self.highstate()
        self.sh("mx1", f"touch {CONVERGED}")
        state = self.host_state()
        self._converged = (pillar, state) if state is not None else None
        return True

    def highstate(self) -> dict:
        """Apply the highstate to mx1 through the master; fail the test unless all succeed.
        A new or rebooted mx1 gets its store initialized or unlocked first, as an admin would
        do when the highstate asks for it."""
        sweep.ensure_sampler("mx1")
        rc, data = mailhost.converge(self.conf_dir)
        states = data["mx1"]
        assert isinstance(states, dict), f"render failed: {states}"
        failed = {v.get("__id__", k): v["comment"] for k, v in states.items() if not v["result"]}
        assert rc == 0 and not failed, failed
        return states

    def probe(self, *args: str, password: str | None = None, stdin: str = "") -> dict:
        """Run a real client on the peer (lab/probes/mailprobe.py); its JSON result."""
        return probe(*args, password=password, stdin=stdin)

    @property
    def pillar_file(self) -> Path:
        return self.pillar_dir / "mailserver.sls"

    def read_pillar(self) -> dict:
        """The ``mailserver`` pillar the master serves (a copy of the example pillar)."""
        return yaml.safe_load(self.pillar_file.read_text())["mailserver"]

    def write_pillar(self, mailserver: dict) -> None:
        """Edit pillar as a user would: the file on the master changes, nothing else (the
        other top-level keys, such as mine_functions, stay)."""
        doc = yaml.safe_load(self.pillar_file.read_text())
        doc["mailserver"] = mailserver
        self.pillar_file.write_text(yaml.safe_dump(doc))

    def reset_pillar(self) -> None:
        """The example pillar, its lab addresses those of this lab's slot."""
        self.pillar_file.write_text(config.example_pillar())


@pytest.fixture(scope="session")
def lab_session(salt_factories):
    session = LabSession(salt_factories)
    yield session
    session.down()  # raises when anything is left behind: a failed teardown fails the run


@pytest.fixture
def lab(lab_session):
    return lab_session.ensure_up()


@pytest.fixture(scope="module")
def mail(lab_session):
    """The lab with mx1 converged on the example pillar (store initialized or unlocked)."""
    lab = lab_session.ensure_up()
    lab.converged()
    return lab


@pytest.fixture(scope="module")
def published(lab_session):
    """``mail``, and the records mx1 prints published in the lab's DNS as an admin would
    publish them at a DNS provider (``lab.records``: the lines; ``lab.published``: the
    counts per zone)."""
    lab = lab_session.ensure_up()
    lab.converged()
    records = lab.salt_json("mx1", "mailserver_dns.records")["mx1"]
    lab.records = records
    lab.published = dns.publish(records, serial=int(time.time()))
    return lab


@pytest.fixture(params=sorted(FAMILIES))
def addr(request):
    """mx1's address, once per address family."""
    return FAMILIES[request.param]


def pytest_terminal_summary(terminalreporter):
    artifacts = config.REPO / "build" / "artifacts"
    for name, (columns, rows) in TABLES.items():
        lines = _format(columns, rows)
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / f"{name}.txt").write_text("\n".join(lines) + "\n")
        terminalreporter.write_sep("-", name)
        for line in lines:
            terminalreporter.write_line(line)
    if TIMINGS:
        t = TIMINGS
        terminalreporter.write_line(
            "lab: up in {:.1f}s of which images {:.1f}s (from cache: {:.1f}s), "
            "minion answering {:.1f}s later".format(
                t["up"], t["images"], t["up"] - t["images"], t.get("minion", 0)
            )
        )
        terminalreporter.write_line(
            "mx1 converged by the modules' fixtures: {} highstates, {} shared".format(
                t.get("converges", 0), t.get("converges_shared", 0)
            )
        )
