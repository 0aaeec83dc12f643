"""Host hardening seen from the outside (the peer), on IPv4 and IPv6: ssh-audit's Hardened
Debian 12 policy, key-only admin login with sudo, refused password and root logins; and on
the host: security updates configured, kernel settings in force."""

from __future__ import annotations

import subprocess

import pytest

from lab import config
from lab.until import until

# version 3 also wants the "sntrup761x25519-sha512" alias, which OpenSSH 9.2 (Debian 12) lacks
POLICY = "Hardened Debian 12 (version 2)"
SSH = "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"


@pytest.fixture(scope="module")
def hardened(lab_session):
    lab = lab_session.ensure_up()
    lab.sh(
        "peer",
        "test -f /root/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519",
    )
    key = lab.sh("peer", "cat /root/.ssh/id_ed25519.pub").stdout.strip()
    pillar = lab.read_pillar()
    pillar["admin"]["ssh_keys"] = [key]
    lab.write_pillar(pillar)
    try:
        lab.states = lab.highstate()
    finally:
        lab.reset_pillar()
    # the same key for root: root must be refused even with a valid key
    lab.sh("mx1", f"mkdir -p /root/.ssh && echo '{key}' > /root/.ssh/authorized_keys")
    return lab


def test_ssh_audit_hardened_debian_12_policy_passes(hardened, addr):
    # ssh-audit from PyPI (Debian's 2.5.0 does not know the policy), from the peer's network
    proc = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            config.HOSTS["peer"].netns,
            str(config.REPO / ".venv/bin/ssh-audit"),
            "-P",
            POLICY,
            addr,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Passed" in proc.stdout


def test_admin_logs_in_with_a_key_and_becomes_root(hardened, addr):
    ret = hardened.sh("peer", f"{SSH} mailadmin@{addr} sudo -n id -u", check=False)
    assert ret.returncode == 0, ret.stderr
    assert ret.stdout.strip() == "0"


def test_password_login_is_refused(hardened, addr):
    ret = hardened.sh(
        "peer",
        f"{SSH} -o PubkeyAuthentication=no -o PreferredAuthentications=password,"
        f"keyboard-interactive mailadmin@{addr} true",
        check=False,
    )
    assert ret.returncode == 255
    assert "Permission denied (publickey)" in ret.stderr


def test_root_login_is_refused_even_with_a_valid_key(hardened, addr):
    ret = hardened.sh("peer", f"{SSH} root@{addr} true", check=False)
    assert ret.returncode == 255
    assert "Permission denied" in ret.stderr


def test_security_updates_are_configured_and_run_through_the_proxy(hardened):
    dump = hardened.sh("mx1", "apt-config dump").stdout
    patterns = [line for line in dump.splitlines() if "Origins-Pattern::" in line]
    assert patterns and all("label=Debian-Security" in p for p in patterns), patterns
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dump
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in dump
    run = hardened.sh(
        "mx1",
        "apt-get update -q >/dev/null && unattended-upgrade --dry-run -d",
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    log = run.stdout + run.stderr
    assert "Allowed origins are:" in log and "label=Debian-Security" in log


def test_kernel_settings_in_force_and_the_rest_skipped_by_name(hardened):
    for key in (
        "net.ipv4.conf.all.accept_redirects",
        "net.ipv4.conf.all.send_redirects",
        "net.ipv6.conf.all.accept_redirects",
    ):
        assert hardened.sh("mx1", f"sysctl -n {key}").stdout.strip() == "0", key
    state = next(
        v
        for v in hardened.states.values()
        if v["__id__"] == "mailserver-kernel-config-sysctl-applied"
    )
    assert state["result"] is True
    assert "kernel settings in force" in state["comment"]
    if "skipped" in state["comment"]:
        assert "kernel." in state["comment"]  # named, not silently dropped


def test_time_is_synchronised_to_the_peers_server(hardened):
    """Chrony on mx1 follows the server pillar names (the peer), over the lab's network."""
    peer = config.HOSTS["peer"]

    def selected():
        sources = hardened.sh("mx1", "chronyc -n sources").stdout
        return [line for line in sources.splitlines() if line.startswith("^*")]

    selected = until(selected, "chrony on mx1 to select a time source", 90, interval=2)
    assert peer.ip4 in selected[0] or peer.ip6 in selected[0], selected
    tracking = hardened.sh("mx1", "chronyc -n tracking").stdout
    assert "Leap status     : Normal" in tracking, tracking
    # a client only: no NTP service offered to others
    assert "123" not in hardened.sh("mx1", "ss -Hulpn 'sport = :123'").stdout
