"""
Mail accounts from pillar: domains, mailboxes (password hashes, quotas) and aliases.

:py:func:`validate` turns the pillar into a checked, normalised form or raises an error that
names the pillar key and the reason; :py:func:`diff` compares it with the database and
:py:func:`sync` applies exactly the needed inserts, updates and deletes in one transaction.
Password hashes never appear in what these functions return.
"""

import datetime
import getpass
import os
import re
import shutil
import sys

from salt.exceptions import CommandExecutionError, SaltInvocationError

try:
    from passlib import hash as passlib_hash

    HAS_PASSLIB = True
except ImportError:
    HAS_PASSLIB = False

__virtualname__ = "mailserver_accounts"
PROBE_QUOTA = 10 * 1024**2  # the upgrade guard's probe mailbox: one message at a time
ACCOUNTS = "mailserver.accounts"  # where mailserver.settings keeps this run's accounts

# Dovecot scheme name -> (passlib handler name, the hash's own prefixes)
SCHEMES = {
    "SHA512-CRYPT": ("sha512_crypt", ("$6$",)),
    "BLF-CRYPT": ("bcrypt", ("$2y$", "$2b$", "$2a$")),
    "ARGON2ID": ("argon2", ("$argon2id$",)),
}
_LOCAL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)


def __virtual__():
    if not HAS_PASSLIB:
        return (False, "mailserver_accounts needs the passlib library in Salt's Python")
    return __virtualname__


class PillarError(SaltInvocationError):
    """A bad accounts pillar; mailserver.settings raises it again as the model's one error
    class for a bad pillar (both name the key and the reason)."""

    def __init__(self, key, reason):
        super().__init__(f"pillar mailserver:{key}: {reason}")
        self.key = key
        self.reason = reason


def _domain_ok(name):
    return (
        isinstance(name, str)
        and 3 < len(name) <= 253
        and "." in name
        and all(_LABEL.match(label) for label in name.split("."))
    )


def _address(value, key):
    """Normalise an address (lower case); raise naming ``key`` when malformed."""
    if not isinstance(value, str):
        raise PillarError(key, f"must be an address string, not {type(value).__name__}")
    addr = value.strip().lower()
    local, at, domain = addr.rpartition("@")
    if not at or not _LOCAL.match(local) or len(local) > 64 or not _domain_ok(domain):
        raise PillarError(key, f"{value!r} is not a valid mail address")
    return addr


def _quota(value, key):
    if value in (None, 0, "0", ""):
        return 0
    if isinstance(value, bool):
        raise PillarError(key, "must be a size such as 2G or a number of bytes")
    if isinstance(value, int) and value > 0:
        return value
    match = _SIZE.match(str(value)) if isinstance(value, str) else None
    if not match:
        raise PillarError(key, f"{value!r} is not a size (bytes, or a number with K, M, G, T)")
    return int(match.group(1)) * 1024 ** " KMGT".index(match.group(2).upper() or " ")


def _password(value, key):
    """Normalise a hash to Dovecot's ``{SCHEME}hash`` form; refuse what is not a known hash."""
    if not isinstance(value, str) or not value:
        raise PillarError(
            key,
            "must be a password hash string (make one: "
            "salt-call mailserver_accounts.hash_password)",
        )
    scheme, bare = None, value
    if value.startswith("{"):
        scheme, _, bare = value[1:].partition("}")
        if scheme not in SCHEMES:
            raise PillarError(
                key, f"unknown hash scheme {{{scheme}}}; use one of " + ", ".join(sorted(SCHEMES))
            )
    else:
        for name, (_, prefixes) in SCHEMES.items():
            if bare.startswith(prefixes):
                scheme = name
        if scheme is None:
            raise PillarError(
                key,
                "not a password hash of a known scheme (SHA512-CRYPT $6$, "
                "BLF-CRYPT $2y$, ARGON2ID $argon2id$); plain passwords "
                "never go in pillar",
            )
    handler = getattr(passlib_hash, SCHEMES[scheme][0])
    if not bare.startswith(SCHEMES[scheme][1]) or not handler.identify(bare):
        raise PillarError(key, f"malformed {scheme} hash")
    try:
        # parsing argon2 needs its backend; its identify() and prefix suffice here
        if scheme != "ARGON2ID" and not handler.from_string(bare).checksum:
            raise ValueError("no checksum")
    except ValueError as exc:
        raise PillarError(key, f"malformed {scheme} hash ({exc})") from None
    return f"{{{scheme}}}{bare}"


def validate(accounts):
    """
    Check and normalise the accounts pillar (``domains``, ``mailboxes``, ``aliases``).

    Returns ``{"domains": [...], "mailboxes": {addr: {"password", "quota"}},
    "aliases": {source: [destinations]}}``, addresses in lower case and catch-alls as
    ``@domain``. Raises an error naming the pillar key and the reason otherwise.

    Not for the command line (its input holds password hashes, which never go in a
    process's arguments): the model (``mailserver.settings``) calls it in-process with the
    pillar's accounts, and the result never leaves the run that made it.
    """
    domains_in = accounts.get("domains") or []
    mailboxes_in = accounts.get("mailboxes") or {}
    aliases_in = accounts.get("aliases") or {}
    if not isinstance(domains_in, list):
        raise PillarError(
            "domains", f"must be a list of domain names, not {type(domains_in).__name__}"
        )
    domains = []
    for i, name in enumerate(domains_in):
        norm = name.strip().lower().rstrip(".") if isinstance(name, str) else name
        if not _domain_ok(norm):
            raise PillarError(f"domains:{i}", f"{name!r} is not a domain name")
        if norm in domains:
            raise PillarError(f"domains:{i}", f"duplicate domain {norm}")
        domains.append(norm)
    for section, value in (("mailboxes", mailboxes_in), ("aliases", aliases_in)):
        if not isinstance(value, dict):
            raise PillarError(
                section, f"must be a mapping of addresses, not {type(value).__name__}"
            )

    mailboxes = {}
    for raw, spec in mailboxes_in.items():
        key = f"mailboxes:{raw}"
        addr = _address(raw, key)
        if addr in mailboxes:
            raise PillarError(key, f"duplicate mailbox {addr}")
        if addr.split("@")[1] not in domains:
            raise PillarError(key, f"domain {addr.split('@')[1]} is not in mailserver:domains")
        if not isinstance(spec, dict):
            raise PillarError(
                key, f"must be a mapping with password_hash, not {type(spec).__name__}"
            )
        unknown = set(spec) - {"password_hash", "quota"}
        if unknown:
            raise PillarError(f"{key}:{sorted(unknown)[0]}", "unknown key")
        mailboxes[addr] = {
            "password": _password(spec.get("password_hash"), f"{key}:password_hash"),
            "quota": _quota(spec.get("quota"), f"{key}:quota"),
        }

    aliases = {}
    for raw, dests in aliases_in.items():
        key = f"aliases:{raw}"
        if isinstance(raw, str) and raw.startswith("@"):
            source = raw.lower()
            if not _domain_ok(source[1:]):
                raise PillarError(key, f"{raw!r} is not a catch-all (@domain)")
        else:
            source = _address(raw, key)
        if source in aliases:
            raise PillarError(key, f"duplicate alias {source}")
        if source in mailboxes:
            raise PillarError(key, f"{source} is already a mailbox")
        if source.split("@")[1] not in domains:
            raise PillarError(key, f"domain {source.split('@')[1]} is not in mailserver:domains")
        if isinstance(dests, str):
            dests = [dests]
        if not isinstance(dests, list) or not dests:
            raise PillarError(key, "must be an address or a non-empty list of addresses")
        norm = []
        for i, dest in enumerate(dests):
            addr = _address(dest, f"{key}:{i}")
            if addr in norm:
                raise PillarError(f"{key}:{i}", f"duplicate destination {addr}")
            norm.append(addr)
        aliases[source] = sorted(norm)

    # local destinations must exist, and aliases must not loop
    for source, dests in aliases.items():
        for dest in dests:
            domain = dest.split("@")[1]
            known = dest in mailboxes or dest in aliases or f"@{domain}" in aliases
            if domain in domains and not known:
                raise PillarError(
                    f"aliases:{source}", f"destination {dest} is neither a mailbox nor an alias"
                )
    for start in aliases:
        _check_loop(start, aliases, mailboxes)
    return {"domains": sorted(domains), "mailboxes": mailboxes, "aliases": aliases}


def _check_loop(start, aliases, mailboxes):
    """Follow aliases from ``start``; a cycle that reaches no mailbox loses mail."""
    seen, stack = set(), [(start, [start])]
    while stack:
        node, path = stack.pop()
        for dest in aliases.get(node, []):
            if dest in mailboxes:
                continue
            if dest == start or dest in path:
                raise PillarError(f"aliases:{start}", "alias loop: " + " -> ".join(path + [dest]))
            if dest in aliases and dest not in seen:
                seen.add(dest)
                stack.append((dest, path + [dest]))


# --- the database side ---------------------------------------------------------------------


def _read(cur):
    cur.execute("SELECT id, name FROM virtual_domains")
    domains = {name.lower(): id_ for id_, name in cur.fetchall()}
    cur.execute("SELECT email, password, quota FROM virtual_users")
    mailboxes = {e.lower(): {"password": p, "quota": int(q)} for e, p, q in cur.fetchall()}
    cur.execute("SELECT source, destination FROM virtual_aliases")
    pairs = {(s.lower(), d.lower()) for s, d in cur.fetchall()}
    return domains, mailboxes, pairs


def _plan(current, desired):
    """
    The operations that turn ``current`` (domains, mailboxes, alias pairs) into ``desired``
    (the output of :py:func:`validate`): a dict of sorted lists, without any hash.
    """
    cur_domains, cur_mailboxes, cur_pairs = current
    want_pairs = {(s, d) for s, dests in desired["aliases"].items() for d in dests}
    want_domains = set(desired["domains"])
    ops = {
        "domains_added": sorted(want_domains - set(cur_domains)),
        "domains_removed": sorted(set(cur_domains) - want_domains),
        "mailboxes_added": sorted(set(desired["mailboxes"]) - set(cur_mailboxes)),
        "mailboxes_removed": sorted(set(cur_mailboxes) - set(desired["mailboxes"])),
        "passwords_changed": sorted(
            a
            for a, spec in desired["mailboxes"].items()
            if a in cur_mailboxes and cur_mailboxes[a]["password"] != spec["password"]
        ),
        "quotas_changed": sorted(
            a
            for a, spec in desired["mailboxes"].items()
            if a in cur_mailboxes and cur_mailboxes[a]["quota"] != spec["quota"]
        ),
        "aliases_added": sorted(f"{s} -> {d}" for s, d in want_pairs - cur_pairs),
        "aliases_removed": sorted(f"{s} -> {d}" for s, d in cur_pairs - want_pairs),
    }
    return {k: v for k, v in ops.items() if v}


def _apply(cur, ops, desired, domain_ids):
    # removals first (aliases, mailboxes, then domains), then additions
    if "aliases_removed" in ops:
        cur.executemany(
            "DELETE FROM virtual_aliases WHERE source=%s AND destination=%s",
            [tuple(x.split(" -> ")) for x in ops["aliases_removed"]],
        )
    if "mailboxes_removed" in ops:
        cur.executemany("DELETE FROM virtual_users WHERE email=%s", ops["mailboxes_removed"])
    if "domains_removed" in ops:
        cur.executemany("DELETE FROM virtual_domains WHERE name=%s", ops["domains_removed"])
    if "domains_added" in ops:
        cur.executemany("INSERT INTO virtual_domains (name) VALUES (%s)", ops["domains_added"])
        cur.execute("SELECT id, name FROM virtual_domains")
        domain_ids = {name.lower(): id_ for id_, name in cur.fetchall()}
    boxes = desired["mailboxes"]
    if "mailboxes_added" in ops:
        cur.executemany(
            "INSERT INTO virtual_users (domain_id, email, password, quota) VALUES (%s, %s, %s, %s)",
            [
                (domain_ids[a.split("@")[1]], a, boxes[a]["password"], boxes[a]["quota"])
                for a in ops["mailboxes_added"]
            ],
        )
    if "passwords_changed" in ops:
        cur.executemany(
            "UPDATE virtual_users SET password=%s WHERE email=%s",
            [(boxes[a]["password"], a) for a in ops["passwords_changed"]],
        )
    if "quotas_changed" in ops:
        cur.executemany(
            "UPDATE virtual_users SET quota=%s WHERE email=%s",
            [(boxes[a]["quota"], a) for a in ops["quotas_changed"]],
        )
    if "aliases_added" in ops:
        pairs = [tuple(x.split(" -> ")) for x in ops["aliases_added"]]
        cur.executemany(
            "INSERT INTO virtual_aliases (domain_id, source, destination) VALUES (%s, %s, %s)",
            [(domain_ids[s.split("@")[1]], s, d) for s, d in pairs],
        )


def _set_aside(store, addresses, purge):
    """Move the mail of removed mailboxes aside (or delete it when ``purge``); list results."""
    done = []
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    removed = store["removed_dir"]
    for addr in addresses:
        local, domain = addr.split("@")
        home = store["mailbox_dir"].format(domain=domain, local=local)
        if not os.path.isdir(home):
            continue
        if purge:
            shutil.rmtree(home)
            done.append(f"deleted {home}")
        else:
            aside = os.path.join(removed, domain, f"{local}.{stamp}")
            os.makedirs(os.path.dirname(aside), mode=0o700, exist_ok=True)
            os.rename(home, aside)
            done.append(f"moved {home} to {aside}")
    if purge and os.path.isdir(removed):
        shutil.rmtree(removed)
        done.append(f"deleted {removed}")
    return done


def _desired(accounts=None):
    """The accounts to sync, checked: ``accounts`` when given (the benchmark's), else this
    run's (the states rendered them), else the pillar as the master serves it now."""
    if accounts is not None:
        return validate(accounts)
    if ACCOUNTS not in __context__:
        __salt__["mailserver.settings"]()
    desired = __context__[ACCOUNTS]
    # the upgrade guard's probe mailbox, with the password made on the host
    settings = __salt__["mailserver.current"]()
    probe = settings["updates"]["guard"]["probe"]
    hashed = __salt__["mailserver_guard.probe_hash"](settings)
    if probe and hashed:
        mailboxes = {**desired["mailboxes"], probe: {"password": hashed, "quota": PROBE_QUOTA}}
        desired = {**desired, "mailboxes": mailboxes}
    return desired


def diff(accounts=None, database=None):
    """
    What :py:func:`sync` would change in the database, without changing anything: the
    pillar's accounts (as the master serves them now) against the database's. Never a hash.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_accounts.diff
    """
    desired = _desired(accounts)
    database = database or __salt__["mailserver.current"]()["mariadb"]["database"]
    with __salt__["mailserver_db.connect"](database) as conn, conn.cursor() as cur:
        return _plan(_read(cur), desired)


def sync(accounts=None, database=None, purge=None):
    """
    Make the database hold exactly the pillar's accounts, in one transaction; then close the
    open sessions of removed mailboxes and move their mail aside under the store's
    ``.removed`` directory (deleted instead when ``purge_removed_mailboxes`` is true).
    Returns the operations done (never a hash).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_accounts.sync
    """
    desired = _desired(accounts)
    model = __salt__["mailserver.current"]()
    database = database or model["mariadb"]["database"]
    purge = model["purge_removed_mailboxes"] if purge is None else purge
    with __salt__["mailserver_db.connect"](database) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM virtual_domains FOR UPDATE")  # one writer at a time
        current = _read(cur)
        ops = _plan(current, desired)
        if ops:
            _apply(cur, ops, desired, current[0])
    removed = ops.get("mailboxes_removed", [])
    if removed:  # close the open sessions of removed mailboxes
        _kick(removed)
    if accounts is None and (removed or purge):
        moved = _set_aside(model["store"], removed, purge)
        if moved:
            ops["mail"] = moved
    return ops


def _kick(addresses):
    """Close the open sessions of ``addresses`` (one call to list who is logged in)."""
    who = __salt__["cmd.run_all"](["doveadm", "who", "-1"], python_shell=False)
    online = {
        line.split()[0].lower() for line in who.get("stdout", "").splitlines()[1:] if line.strip()
    }
    for addr in sorted(online & set(addresses)):
        __salt__["cmd.run_all"](["doveadm", "kick", addr], python_shell=False)


def _database():
    return __salt__["mailserver.current"]()["mariadb"]["database"]


def lock_user(address, reason="locked by the admin"):
    """
    Lock a mailbox: it can no longer log in (IMAP, ManageSieve, SMTP AUTH), its open
    sessions are closed, and the minion fires ``mailserver/account/locked`` (the master's
    reactor tells the admin). Mail to it is still delivered. A highstate keeps the lock;
    :py:func:`unlock_user` lifts it. What a hard sending limit does (postfwd's watcher).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_accounts.lock_user alice@example.com "a stolen password"
    """
    addr = _address(address, "address")
    with __salt__["mailserver_db.connect"](_database()) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM virtual_users WHERE email=%s", (addr,))
        if not cur.fetchall():
            raise SaltInvocationError(f"no mailbox {addr}")
        cur.execute(
            "INSERT IGNORE INTO locked_mailboxes (email, reason) VALUES (%s, %s)",
            (addr, str(reason)[:255]),
        )
        new = cur.rowcount == 1
    if new:
        _kick([addr])
        __salt__["event.send"]("mailserver/account/locked", {"address": addr, "reason": reason})
    return {"address": addr, "locked": True, "already": not new}


def unlock_user(address):
    """
    Lift the lock of a mailbox (and forget its sending counters, so it starts afresh).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_accounts.unlock_user alice@example.com
    """
    addr = _address(address, "address")
    with __salt__["mailserver_db.connect"](_database()) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM locked_mailboxes WHERE email=%s", (addr,))
        was = cur.rowcount == 1
    if __salt__["cmd.has_exec"]("postfwd"):
        __salt__["cmd.run_all"](
            ["postfwd", f"--delrate=sasl_username={addr}"], python_shell=False, ignore_retcode=True
        )
    return {"address": addr, "locked": False, "was_locked": was}


def locked():
    """
    The locked mailboxes: ``{address: {"since", "reason"}}``.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_accounts.locked
    """
    with __salt__["mailserver_db.connect"](_database()) as conn, conn.cursor() as cur:
        cur.execute("SELECT email, since, reason FROM locked_mailboxes ORDER BY email")
        return {e: {"since": str(since), "reason": r} for e, since, r in cur.fetchall()}


def hash_password(scheme="SHA512-CRYPT", password=None):
    """
    Make a password hash for pillar. Without ``password`` it prompts twice without echo on
    a terminal, or reads one line from standard input (so the password is never in a
    process's arguments or the shell history).

    CLI Example:

    .. code-block:: bash

        salt-call --local mailserver_accounts.hash_password
        salt-call --local mailserver_accounts.hash_password BLF-CRYPT
    """
    scheme = scheme.upper()
    if scheme not in SCHEMES:
        raise SaltInvocationError(f"unknown scheme {scheme}; use one of {sorted(SCHEMES)}")
    if password is None:
        if sys.stdin.isatty():
            password = getpass.getpass("New password: ")
            if getpass.getpass("Retype new password: ") != password:
                raise SaltInvocationError("the passwords differ")
        else:
            password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise SaltInvocationError("empty password")
    handler = getattr(passlib_hash, SCHEMES[scheme][0])
    if scheme == "SHA512-CRYPT":
        handler = handler.using(rounds=5000)
    elif scheme == "BLF-CRYPT":
        handler = handler.using(ident="2y", rounds=12)
    elif scheme == "ARGON2ID":
        handler = handler.using(type="ID")
    return f"{{{scheme}}}{handler.hash(password)}"


def reindex(address=None):
    """
    Rebuild the full-text search index of one mailbox (``address``) or of every mailbox:
    the index is forgotten (``doveadm fts rescan``) and every folder queued for indexing
    again (``doveadm index -q``), in the background; searches meanwhile index what they
    need first. Needs the store unlocked (the index lives inside it).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_accounts.reindex alice@example.com
    """
    settings = __salt__["mailserver.current"]()
    if not settings["dovecot"]["fts"]["enabled"]:
        raise CommandExecutionError("full-text search is off (mailserver:dovecot:fts:enabled)")
    if __salt__["mailserver_store.status"]()["state"] != "unlocked":
        raise CommandExecutionError("the mail store is locked: unlock it first")
    who = ["-u", address] if address else ["-A"]
    for argv in (["doveadm", "fts", "rescan", *who], ["doveadm", "index", *who, "-q", "*"]):
        ret = __salt__["cmd.run_all"](argv, python_shell=False, ignore_retcode=True)
        if ret["retcode"] != 0:
            raise CommandExecutionError(f"{' '.join(argv[:3])} failed: {ret['stderr'].strip()}")
    return {"reindexing": address or "every mailbox"}
