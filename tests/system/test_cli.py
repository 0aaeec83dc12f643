"""Every documented CLI example that only reads runs as written through the master
(`salt mx1 ...`), or on the host (`salt-call ...`), with no argument beyond those written:
the functions find the host's settings in the snapshot the highstate wrote."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from lab import mailhost
from tests.system.cli_examples import IN_PROCESS, JUDGES, examples, public_functions

BROKEN = ("Passed invalid arguments", "is not available", "Traceback", "un-handled exception")


def test_every_public_function_documents_its_cli_example():
    missing = [
        name
        for name, doc in public_functions().items()
        if "CLI Example:" not in doc and name not in IN_PROCESS
    ]
    assert missing == []


def test_every_reading_cli_example_runs_as_written_through_the_master(mail):
    def run(ex):
        if ex.master:
            proc = mail.salt("mx1", ex.function, *ex.args, check=False)
        else:
            proc = mailhost.call("mx1", ex.function, *ex.args)
        out = proc.stdout + proc.stderr
        judged = ex.function in JUDGES  # exits 1 when a check fails
        ok = not [b for b in BROKEN if b in out] and (proc.returncode == 0 or judged)
        return ok, ex.line, proc.returncode, out[-300:]

    # the ones that change the host run masterless on mx2 (test_masterless), not on mx1;
    # the others only read, so they run side by side
    with ThreadPoolExecutor(4) as pool:
        report = list(pool.map(run, [ex for ex in examples() if not ex.changes]))
    bad = [r for r in report if not r[0]]
    assert not bad, "\n".join(f"{line} -> {rc}: {tail}" for _, line, rc, tail in bad)
    assert len(report) >= 25


def test_no_function_returns_a_secret(mail):
    """What the model says through the master (a job return, the job cache) holds no key,
    no password hash and no database credential."""
    model = mail.salt_json("mx1", "mailserver.current")["mx1"]
    text = json.dumps(model)
    secret = mail.sh("mx1", "cat /etc/mailserver/db-reader.secret").stdout.strip()
    assert secret and secret not in text
    assert "PRIVATE KEY" not in text and "$6$" not in text and "$2y$" not in text
    assert model["hostname"] == "mx1.example.com" and model["accounts"]["mailboxes"] == 3
