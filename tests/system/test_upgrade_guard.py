"""The guard after upgrades, as unattended-upgrades drives it: a local APT repository on mx1
that says it is Debian's security archive offers newer versions of a package installed on
the host. One upgrade breaks nothing (no notification); one breaks Dovecot's configuration
(its postinst adds a setting Dovecot refuses, as a changed default would): the guard's self
test fails and the admin is told through the master's reactor (the lab's mail relay)."""

from __future__ import annotations

import email
import json

import pytest

from lab.until import until
from tests.system.mailclients import DEFAULTS

GUARD = DEFAULTS["updates"]["guard"]
PACKAGE = "lab-guard-canary"
REPO = "/srv/lab-security-repo"
SOURCES = "/etc/apt/sources.list.d/lab-security.list"
BREAK = "lab_canary_setting_dovecot_refuses = yes"

# a package at VERSION; its postinst runs SCRIPT at configure
BUILD = r"""
set -e
d=$(mktemp -d); mkdir -p "$d/DEBIAN" "$d/usr/share/doc/{pkg}"
echo "{pkg} {version}" > "$d/usr/share/doc/{pkg}/VERSION"
cat > "$d/DEBIAN/control" <<EOF
Package: {pkg}
Version: {version}
Architecture: all
Maintainer: Lab <lab@example.net>
Description: the upgrade guard's test package
EOF
cat > "$d/DEBIAN/postinst" <<'EOS'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
{script}
fi
EOS
chmod 755 "$d/DEBIAN/postinst"
mkdir -p {repo}/pool
dpkg-deb --root-owner-group -b "$d" {repo}/pool/{pkg}_{version}_all.deb >/dev/null
rm -rf "$d"
"""

# the repository offers only the given .deb, under the origin unattended-upgrades allows
PUBLISH = r"""
set -e
cd {repo}
deb=pool/{pkg}_{version}_all.deb
{{
  dpkg-deb -f "$deb" Package Version Architecture Maintainer Description | sed '/^Description/d'
  echo "Filename: $deb"
  echo "Size: $(stat -c %s "$deb")"
  echo "SHA256: $(sha256sum "$deb" | cut -d' ' -f1)"
  echo "Description: the upgrade guard's test package"
  echo
}} > Packages
{{
  echo "Origin: Debian"
  echo "Label: Debian-Security"
  echo "Suite: bookworm-security"
  echo "Codename: bookworm-security"
  echo "Date: $(date -Ru)"
  echo "SHA256:"
  echo " $(sha256sum Packages | cut -d' ' -f1) $(stat -c %s Packages) Packages"
}} > Release
echo "deb [trusted=yes] file:{repo} ./" > {sources}
apt-get update -q -o Dir::Etc::sourcelist={sources} -o Dir::Etc::sourceparts=- \
  -o APT::Get::List-Cleanup=0 >/dev/null
"""

# what the daily timer does: apt-daily-upgrade.service, stamps cleared so it runs now
RUN = "rm -f /var/lib/apt/periodic/*-stamp; systemctl start apt-daily-upgrade.service"


def _last(lab) -> dict:
    out = lab.sh("mx1", f"cat {GUARD['result_file']} 2>/dev/null", check=False).stdout
    return json.loads(out) if out.strip() else {}


SUBJECT = "Subject: [mailserver] mail on mx1 is broken after an upgrade"


def _notices(lab) -> int:
    ret = lab.sh("peer", f"grep -cF '{SUBJECT}' /var/mail/sink", check=False)
    return int(ret.stdout.strip() or 0)


def _last_notice(lab) -> str:
    """The text of the last notice in the relay's sink mailbox (an mbox)."""
    text = lab.sh("peer", "cat /var/mail/sink").stdout
    last = text[text.rindex(SUBJECT) :]
    body = email.message_from_string(last.split("\n", 1)[1])
    return body.get_payload(decode=True).decode()


def _upgrade(lab, version: str) -> dict:
    """Offer ``version`` and let unattended-upgrades run; the guard's result of that run."""
    before = _last(lab).get("checked_at")
    lab.sh("mx1", PUBLISH.format(repo=REPO, pkg=PACKAGE, version=version, sources=SOURCES))
    lab.sh("mx1", RUN)
    result = until(
        lambda: (r := _last(lab)) and r.get("checked_at") != before and r,
        what=f"the upgrade guard's check after {PACKAGE} {version}",
        timeout=300,
    )
    installed = lab.sh("mx1", f"dpkg-query -W -f '${{Version}}' {PACKAGE}").stdout
    assert installed == version, "unattended-upgrades did not install the offered version"
    return result


@pytest.fixture(scope="module")
def guarded(published):
    lab = published
    for version, script in (
        ("1.0", "true"),
        ("2.0", "true"),
        ("3.0", f"echo '{BREAK}' >> /etc/dovecot/dovecot.conf; systemctl restart dovecot || true"),
    ):
        lab.sh("mx1", BUILD.format(repo=REPO, pkg=PACKAGE, version=version, script=script))
    lab.sh("mx1", f"dpkg -i {REPO}/pool/{PACKAGE}_1.0_all.deb >/dev/null")
    yield lab
    lab.sh("mx1", f"rm -rf {REPO} {SOURCES}; dpkg -P {PACKAGE} >/dev/null 2>&1 || true")
    # the highstate puts Dovecot's configuration back, as the notification tells the admin
    rc, _ = lab.apply("mx1")
    assert rc == 0
    assert BREAK not in lab.sh("mx1", "cat /etc/dovecot/dovecot.conf").stdout


def test_the_self_test_sends_reads_back_and_verifies_dkim(guarded):
    ret = guarded.salt_json("mx1", "mailserver_guard.self_test")["mx1"]
    assert ret["ok"], ret["summary"]
    checks = {c["name"]: c for c in ret["checks"]}
    assert set(checks) == {"self test: submission", "self test: IMAP", "self test: DKIM"}
    assert "signature ok" in checks["self test: DKIM"]["detail"]
    # the probe message is deleted once read: the probe mailbox stays empty
    probe = guarded.salt_json("mx1", "mailserver.current")["mx1"]["updates"]["guard"]["probe"]
    count = guarded.sh("mx1", f"doveadm search -u {probe} mailbox INBOX ALL | wc -l").stdout
    assert count.strip() == "0"


def test_a_harmless_upgrade_passes_the_guard_without_a_notification(guarded):
    before = _notices(guarded)
    result = _upgrade(guarded, "2.0")
    assert result["ok"], result["summary"]
    assert f"{PACKAGE} 2.0" in result["packages"]
    assert _notices(guarded) == before


def test_an_upgrade_that_breaks_dovecot_notifies_the_admin(guarded):
    before = _notices(guarded)
    result = _upgrade(guarded, "3.0")
    assert not result["ok"]
    assert f"{PACKAGE} 3.0" in result["packages"]
    failed = "\n".join(result["failed"])
    assert "self test: submission" in failed or "self test: IMAP" in failed, failed
    until(
        lambda: _notices(guarded) > before,
        what="the admin's notification of the broken upgrade",
        timeout=90,
    )
    notice = _last_notice(guarded)
    assert f"{PACKAGE} 3.0" in notice and "FAILED its checks" in notice, notice
    # the journal says it too (for a host without a master)
    journal = guarded.sh("mx1", "journalctl -u apt-daily-upgrade.service -o cat").stdout
    assert "after the upgrade of" in journal and f"{PACKAGE} 3.0" in journal
