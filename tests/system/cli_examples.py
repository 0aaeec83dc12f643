"""The CLI examples the formula documents: every ``salt ...`` or ``salt-call ...`` line of a
``CLI Example:`` block in the execution modules' docstrings, parsed into what to run."""

from __future__ import annotations

import ast
import shlex
from dataclasses import dataclass

from tests.conftest import REPO

# Public only so that other modules can call them in-process; never from the command line
# (their arguments would carry password hashes, or they return a connection).
IN_PROCESS = {
    "mailserver_accounts.validate",
    "mailserver_db.connect",
    "mailserver_guard.probe_hash",
    "mailserver_status.judge",
    "mailserver_backup.check_items",
    "mailserver_backup.export_sealed",
    "mailserver_cluster.check_items",
    "mailserver_cluster.replication_secret_export",
    "mailserver_cluster.replication_secret_import",
}
# Examples that judge the host: they exit 1 when a check fails
JUDGES = {
    "mailserver_status.check",
    "mailserver_guard.self_test",
    "mailserver_guard.after_upgrade",
}
# Examples that change the host; what to answer on standard input when they read it
CHANGES = {
    "mailserver_accounts.sync",
    "mailserver_acme.issue",
    "mailserver_db.secure",
    "mailserver_db.create_schema",
    "mailserver_db.ensure_reader",
    "mailserver_dkim.generate",
    "mailserver_dkim.activate",
    "mailserver_dkim.rotate",
    "mailserver_dkim.switch",
    "mailserver_dkim.retire",
    "mailserver_fail2ban.unban",
    "mailserver_firewall.apply",
    "mailserver_host.sysctl_apply",
    "mailserver_store.initialize",
    "mailserver_store.unlock",
    "mailserver_store.lock",
    "mailserver_store.restart_dependents",
    "mailserver_store.change_passphrase",
    "mailserver_accounts.hash_password",
    "mailserver_accounts.lock_user",
    "mailserver_accounts.unlock_user",
    "mailserver_accounts.reindex",
    "mailserver_spam.ensure_secrets",
    "mailserver_webmail.ensure_secrets",
    "mailserver_guard.ensure_secrets",
    "mailserver_guard.after_upgrade",
    "mailserver_backup.ensure_secrets",
    "mailserver_backup.run",
    "mailserver_backup.after_run",
    "mailserver_backup.restore",
    "mailserver_backup.restore_mail",
}


@dataclass(frozen=True)
class Example:
    line: str  # as documented
    function: str  # module.function
    args: tuple[str, ...]  # after the function name (--out options included)
    master: bool  # written for the master (salt <target> ...), else for the host

    @property
    def changes(self) -> bool:
        return self.function in CHANGES


def public_functions() -> dict[str, str]:
    """``{module.function: docstring}`` of every public function of the execution modules."""
    out = {}
    for path in sorted((REPO / "_modules").glob("*.py")):
        tree = ast.parse(path.read_text())
        virtual = path.stem
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", "") == "__virtualname__" for t in node.targets
            ):
                virtual = node.value.value
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                out[f"{virtual}.{node.name}"] = ast.get_docstring(node) or ""
    return out


def examples() -> list[Example]:
    out = []
    for function, doc in public_functions().items():
        if "CLI Example:" not in doc:
            continue
        for line in doc.split("CLI Example:", 1)[1].splitlines():
            line = line.strip()
            if not line.startswith("salt"):
                continue
            argv = shlex.split(line)
            master = argv[0] == "salt"
            rest = argv[2:] if master else [a for a in argv[1:] if a != "--local"]
            name = next(a for a in rest if not a.startswith("-"))
            assert name == function, f"{line!r} is documented under {function}"
            args = tuple(a for a in rest if a != name)
            out.append(Example(line, function, args, master))
    return out
