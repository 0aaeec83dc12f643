"""
The mail database on MariaDB: hardening, schema, and the read-only user of Postfix and Dovecot.

Salt connects as MariaDB's root over the unix socket (Debian authenticates root by its unix
user there), so no administrative password exists anywhere. The read-only user's password is
generated here, on the minion, kept in a root-only file, written only into the root- or
postfix-readable client files of Postfix and Dovecot, and never returned, logged or passed in
a process's arguments.
"""

import contextlib
import logging
import os

try:
    import pymysql

    HAS_PYMYSQL = True
except ImportError:
    HAS_PYMYSQL = False

log = logging.getLogger(__name__)

__virtualname__ = "mailserver_db"


# The guide's schema with its defects fixed: no trailing comma, a unique domain name, a unique
# alias pair, a quota per mailbox (bytes, 0 = no limit), utf8mb4 and case-insensitive keys.
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS virtual_domains (
        id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(253) NOT NULL,
        UNIQUE KEY name (name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci""",
    """CREATE TABLE IF NOT EXISTS virtual_users (
        id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        domain_id INT NOT NULL,
        email VARCHAR(254) NOT NULL,
        password VARCHAR(255) NOT NULL,
        quota BIGINT UNSIGNED NOT NULL DEFAULT 0,
        UNIQUE KEY email (email),
        FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci""",
    """CREATE TABLE IF NOT EXISTS virtual_aliases (
        id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        domain_id INT NOT NULL,
        source VARCHAR(254) NOT NULL,
        destination VARCHAR(254) NOT NULL,
        UNIQUE KEY alias (source, destination),
        FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci""",
    # mailboxes locked (a hard sending limit, or by hand): no login until unlocked. Not
    # pillar's: a highstate keeps them; a removed mailbox takes its lock with it.
    """CREATE TABLE IF NOT EXISTS locked_mailboxes (
        email VARCHAR(254) NOT NULL PRIMARY KEY,
        since DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        reason VARCHAR(255) NOT NULL DEFAULT '',
        FOREIGN KEY (email) REFERENCES virtual_users(email) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci""",
]
TABLES = ("virtual_domains", "virtual_users", "virtual_aliases", "locked_mailboxes")

# What Postfix and Dovecot ask the database: one place, beside the schema it depends on.
POSTFIX_QUERIES = {
    "virtual-mailbox-domains": "SELECT 1 FROM virtual_domains WHERE name='%s'",
    "virtual-mailbox-maps": "SELECT 1 FROM virtual_users WHERE email='%s'",
    "virtual-alias-maps": "SELECT destination FROM virtual_aliases WHERE source='%s'",
    # who may send as an address: its mailbox, and the mailboxes an alias delivers to
    "sender-login-maps": (
        "SELECT email FROM virtual_users WHERE email='%s' "
        "UNION SELECT destination FROM virtual_aliases WHERE source='%s'"
    ),
}
DOVECOT_QUERIES = {
    # a locked mailbox cannot log in (IMAP, ManageSieve, and SMTP AUTH through Dovecot)
    "password_query": (
        "SELECT email AS user, password FROM virtual_users WHERE email='%u' "
        "AND email NOT IN (SELECT email FROM locked_mailboxes)"
    ),
    "user_query": (
        "SELECT email AS user, CONCAT('*:bytes=', quota) AS quota_rule{more} "
        "FROM virtual_users WHERE email='%u'"
    ),
    "iterate_query": "SELECT email AS user FROM virtual_users{more}",
}


def __virtual__():
    if not HAS_PYMYSQL:
        return (False, "mailserver_db needs the pymysql library in Salt's Python")
    return __virtualname__


def _db():
    """The model's MariaDB settings (socket, database, reader, secret file) and the paths of
    the client files that carry the reader's credential."""
    model = __salt__["mailserver.current"]()
    probe = model["updates"]["guard"]["probe"]
    return {
        **model["mariadb"],
        "postfix_dir": model["postfix"]["sql_dir"],
        "postfix_group": model["postfix"]["group"],
        "dovecot_file": model["dovecot"]["sql_file"],
        # with a replication partner, mailboxes of this host alone: the upgrade guard's
        # probe, which each host logs into for itself (made on both hosts, never replicated)
        "host_local": [probe] if probe and model["cluster"]["partner"] else [],
    }


@contextlib.contextmanager
def connect(database=None, user="root", password=None):
    """A pymysql connection over the unix socket (root by default); commits on success. Not
    for the command line: the accounts module uses it in-process."""
    conn = pymysql.connect(
        unix_socket=_db()["socket"],
        user=user,
        password=password or "",
        database=database,
        autocommit=False,
        charset="utf8mb4",
        connect_timeout=10,
    )
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def insecure_items():
    """
    What ``mysql_secure_installation`` would remove: anonymous users, root reachable from
    elsewhere than this host, the test database and its grants.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_db.insecure_items
    """
    found = []
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT User, Host FROM mysql.user WHERE User=''")
        found += [f"anonymous user ''@'{host}'" for _, host in cur.fetchall()]
        cur.execute(
            "SELECT User, Host FROM mysql.user WHERE User='root' "
            "AND Host NOT IN ('localhost', '127.0.0.1', '::1')"
        )
        found += [f"remote root 'root'@'{host}'" for _, host in cur.fetchall()]
        cur.execute("SHOW DATABASES LIKE 'test'")
        if cur.fetchall():
            found.append("database test")
        cur.execute("SELECT COUNT(*) FROM mysql.db WHERE Db='test' OR Db='test\\\\_%'")
        if cur.fetchone()[0]:
            found.append("grants on test databases")
    return found


def secure():
    """
    Remove what :py:func:`insecure_items` lists; returns what was removed.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_db.secure
    """
    removed = insecure_items()
    if not removed:
        return []
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT User, Host FROM mysql.user WHERE User='' OR (User='root' "
            "AND Host NOT IN ('localhost', '127.0.0.1', '::1'))"
        )
        for user, host in cur.fetchall():
            cur.execute("DROP USER %s@%s", (user, host))
        cur.execute("DROP DATABASE IF EXISTS test")
        cur.execute("DELETE FROM mysql.db WHERE Db='test' OR Db='test\\\\_%'")
        cur.execute("FLUSH PRIVILEGES")
    return removed


def schema_status(database=None):
    """
    The tables of the mail database that are missing (all of them when it does not exist).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_db.schema_status
    """
    database = database or _db()["database"]
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (database,))
        if not cur.fetchall():
            return {"database": False, "missing": list(TABLES)}
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema=%s",
            (database,),
        )
        have = {row[0] for row in cur.fetchall()}
        cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema=%s AND table_name='virtual_users'",
            (database,),
        )
        columns = {row[0] for row in cur.fetchall()}
    missing = [t for t in TABLES if t not in have]
    if "virtual_users" in have and "quota" not in columns:
        missing.append("virtual_users.quota")
    return {"database": True, "missing": missing}


def create_schema(database=None):
    """
    Create the database and its tables (and the quota column of a guide-era table).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_db.create_schema
    """
    database = database or _db()["database"]
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE DATABASE IF NOT EXISTS `{_ident(database)}` "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        )
        cur.execute(f"USE `{_ident(database)}`")
        for statement in SCHEMA:
            cur.execute(statement)
        if "virtual_users.quota" in schema_status(database)["missing"]:
            cur.execute(
                "ALTER TABLE virtual_users ADD COLUMN quota BIGINT UNSIGNED NOT NULL DEFAULT 0"
            )
    return schema_status(database)


def _ident(name):
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def _dovecot_queries(host_local):
    """Dovecot's queries; the mailboxes in ``host_local`` carry ``noreplicate`` (Dovecot's
    replicator leaves them out) and are not iterated for replication."""
    more = {}
    if host_local:
        listed = ", ".join(f"'{_address(a)}'" for a in host_local)
        more = {
            "user_query": f", IF(email IN ({listed}), 'y', NULL) AS noreplicate",
            "iterate_query": f" WHERE email NOT IN ({listed})",
        }
    return {key: query.format(more=more.get(key, "")) for key, query in DOVECOT_QUERIES.items()}


def _address(addr):
    local, _, domain = addr.partition("@")
    if not (local and domain) or not all(c.isalnum() or c in "-_.@" for c in addr):
        raise ValueError(f"not a plain address: {addr!r}")
    return addr


def _client_files(db, password):
    """{path: (text, group, mode)} of the Postfix and Dovecot files that hold the credential."""
    database, user, socket = db["database"], db["reader"], db["socket"]
    files = {}
    for name, query in POSTFIX_QUERIES.items():
        files[os.path.join(db["postfix_dir"], f"{name}.cf")] = (
            f"# Managed by Salt (mailserver formula). Read-only database user.\n"
            f"hosts = unix:{socket}\nuser = {user}\npassword = {password}\n"
            f"dbname = {database}\nquery = {query}\n",
            db["postfix_group"],
            0o640,
        )
    lines = [
        "# Managed by Salt (mailserver formula). Read-only database user.",
        "driver = mysql",
        f"connect = host={socket} dbname={database} user={user} password={password}",
        "default_pass_scheme = SHA512-CRYPT",
    ] + [f"{key} = {query}" for key, query in _dovecot_queries(db.get("host_local", [])).items()]
    files[db["dovecot_file"]] = ("\n".join(lines) + "\n", None, 0o600)
    return files


def reader_status():
    """
    What is not yet as it should be for the read-only user of the mail database (the model's
    ``mariadb:reader``): a list of short descriptions, empty when all is in place. Never
    includes the password.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_db.reader_status
    """
    db = _db()
    database, user, secret_file = db["database"], db["reader"], db["secret_file"]
    todo = []
    password = __utils__["mailserver_secret.read"](secret_file)
    if password is None:
        todo.append(f"generate the password ({secret_file})")
        return todo + ["set the database user's password", "write the client files"]
    try:
        with connect(database, user=user, password=password) as conn, conn.cursor() as cur:
            cur.execute("SHOW GRANTS")
            grants = [row[0] for row in cur.fetchall()]
    # pymysql.OperationalError, never pymysql.err.OperationalError: in a state run Salt's
    # mysql module imports pymysql again as MySQLdb, which rebinds pymysql.err to a second
    # copy of its exception classes, and the password refused would not be caught
    except pymysql.OperationalError:
        todo.append(f"create or reset database user {user}")
        grants = []
    wanted = f"GRANT SELECT ON `{database}`.*"
    if grants and not any(g.startswith(wanted) for g in grants):
        todo.append(f"grant SELECT on {database}")
    if any(
        "ALL PRIVILEGES" in g or "INSERT" in g or "UPDATE" in g or "DELETE" in g for g in grants
    ):
        todo.append(f"revoke the write privileges of {user}")
    todo += [f"write {path}" for path in __utils__["mailserver_secret.stale"](
        _client_files(db, password))]  # fmt: skip
    return todo


def ensure_reader():
    """
    Make the read-only user, with a password generated here when there is none yet, give it
    SELECT on the mail database only, and write the client files of Postfix and Dovecot.
    Returns what it did (never the password).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_db.ensure_reader
    """
    todo = reader_status()
    if not todo:
        return []
    db = _db()
    password = __utils__["mailserver_secret.ensure"](db["secret_file"])
    with connect() as conn, conn.cursor() as cur:
        user_at = (db["reader"], "localhost")  # the unix socket only
        cur.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (*user_at, password))
        cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (*user_at, password))
        cur.execute("REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@%s", user_at)
        cur.execute(f"GRANT SELECT ON `{_ident(db['database'])}`.* TO %s@%s", user_at)
        cur.execute("FLUSH PRIVILEGES")
    __utils__["mailserver_secret.write_all"](_client_files(db, password))
    return todo
