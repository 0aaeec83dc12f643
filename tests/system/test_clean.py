"""`salt 'mx*' state.apply mailserver.clean` through the master. It takes mx1 apart, so it
runs last in the session (tests/system/conftest.py orders it): the formula's services stop,
its packages and its files go, the firewall is off and the host's resolv.conf is its own
again; the mail, the database, the keys and certificates stay, and so do sshd and the
admin's way in. A second run changes nothing."""

from __future__ import annotations

from tests.system.mailclients import DEFAULTS, inbox, send25, tag

STORE = DEFAULTS["store"]
GONE_PACKAGES = (
    "postfix", "dovecot-core", "mariadb-server", "opendkim", "opendmarc", "nginx", "bind9",
    "fail2ban", "chrony", "ufw", "rspamd", "redis-server", "postgrey", "postfwd",
    "roundcube-core", "php8.2-fpm",
)  # fmt: skip
GONE_FILES = (
    "/etc/postfix/sql",
    "/etc/dovecot/dovecot-sql.conf.ext",
    "/etc/fail2ban/jail.d/90-mailserver.local",
    "/etc/ssh/sshd_config.d/50-mailserver.conf",
    "/etc/sysctl.d/90-mailserver.conf",
    "/etc/apt/apt.conf.d/51mailserver-unattended-upgrades",
    DEFAULTS["updates"]["guard"]["dropin_file"],
    "/etc/nginx/sites-available/mailserver",
    "/etc/opendkim/key.table",
    "/etc/systemd/system/dovecot.service.d/mailserver-store.conf",
    "/etc/mailname",
    "/etc/rspamd/local.d",
    "/etc/redis/mailserver.conf",
    "/etc/postfix/postfwd.cf",
    "/etc/postgrey/whitelist_clients.local",
    "/usr/local/sbin/mailserver-limits-watch",
    "/etc/dovecot/sieve",
    "/etc/roundcube/config.inc.php",
    "/etc/php/8.2/fpm/pool.d/roundcube.conf",
    "/var/www/mailserver",
)
KEPT_FILES = (
    "/var/lib/mysql/mailserver/virtual_users.ibd",
    "/etc/mailserver/tls/privkey.pem",
    "/etc/mailserver/db-reader.secret",
    "/etc/mailserver/redis.secret",
    DEFAULTS["updates"]["guard"]["secret_file"],
    "/etc/sudoers.d/mailserver-admin",
    "/etc/opendkim/keys/example.com",
    # the webmail's address books and settings, in the store
    f"{STORE['mount_point']}/roundcube/roundcube.db",
)


def installed(lab, package) -> bool:
    status = lab.sh("mx1", f"dpkg-query -W -f='${{Status}}' {package}", check=False).stdout
    return status == "install ok installed"


def test_clean_removes_the_formula_and_leaves_the_data(mail):
    lab = mail
    kept = tag("kept")
    assert send25(lab, ["alice@example.com"], kept)["ok"]
    assert inbox(lab, "alice@example.com", kept)
    # a visit to the webmail: Roundcube makes its database in the store
    lab.sh("peer", "curl -sfk -o /dev/null https://mx1.example.com/")
    original = lab.sh("mx1", "cat /etc/mailserver/resolv.conf.orig").stdout
    assert "nameserver 127.0.0.1" not in original

    rc, data = lab.apply("mx*", "mailserver.clean")
    failed = {v["__id__"]: v["comment"] for v in data["mx1"].values() if not v["result"]}
    assert rc == 0 and not failed, failed

    still = [p for p in GONE_PACKAGES if installed(lab, p)]
    assert still == [], f"still installed: {still}"
    left = lab.sh("mx1", f"ls -d {' '.join(GONE_FILES)} 2>/dev/null", check=False).stdout.split()
    assert left == [], f"still there: {left}"
    assert not lab.ufw_active()
    assert lab.sh("mx1", "cat /etc/resolv.conf").stdout == original

    # the data stays: the store (mounted as it was, the message inside, ciphertext outside),
    # the database, the keys and the certificate; and the admin's way in
    missing = [p for p in KEPT_FILES if lab.sh("mx1", f"test -e {p}", check=False).returncode]
    assert missing == [], f"data removed: {missing}"
    assert lab.sh("mx1", f"grep -rlF {kept} {STORE['mail_root']}", check=False).stdout
    assert lab.sh("mx1", f"grep -rlF {kept} {STORE['cipher_dir']}", check=False).stdout == ""
    assert lab.sh("mx1", "systemctl is-active ssh", check=False).stdout.strip() == "active"

    rc, data = lab.apply("mx*", "mailserver.clean")
    changed = {v["__id__"]: v["changes"] for v in data["mx1"].values() if v["changes"]}
    assert rc == 0 and changed == {}, changed
