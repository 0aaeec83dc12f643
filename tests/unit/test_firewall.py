"""Unit tests of the firewall module: ufw's own rule files read back, the plan against them,
and the commands it would run. No ufw, no iptables."""

from __future__ import annotations

import binascii

import pytest


def tuple_line(rule: str, comment: str | None) -> str:
    tail = f" comment={binascii.hexlify(comment.encode()).decode()}" if comment else ""
    return f"### tuple ### {rule} in{tail}\n-A ufw-user-input -j ACCEPT\n"


@pytest.fixture
def fw(tmp_path, minion, model):
    module = minion.mods["mailserver_firewall"]
    minion.opts["mailserver_root"] = str(tmp_path)  # ufw's files under a scratch tree
    (tmp_path / "etc/ufw").mkdir(parents=True)
    (tmp_path / "etc/default").mkdir(parents=True)
    v4, v6 = tmp_path / "etc/ufw/user.rules", tmp_path / "etc/ufw/user6.rules"
    # a minion configured the usual way: only `master:` (Salt fills master_ip in, and
    # master_port, but not publish_port)
    minion.opts.update({"master": "198.51.100.1", "master_ip": "198.51.100.1"})
    minion.opts.update({"master_port": 4506})
    calls = []

    def run_all(argv, **kw):
        calls.append(argv)
        return {"retcode": 0, "stdout": "Status: active", "stderr": ""}

    minion.salt.update({"cmd.run_all": run_all, "cmd.has_exec": lambda name: True})
    module.calls = calls
    module.files = (v4, v6)
    module.settings = model()
    return module


def write_in_force(fw, extra=""):
    """The rule files as ufw writes them once the formula's rules are in."""
    v4 = v6 = ""
    for r in fw.desired(fw.settings):
        if r["src"] == "any":
            v4 += tuple_line(f"allow tcp {r['dport']} 0.0.0.0/0 any 0.0.0.0/0", r["comment"])
            v6 += tuple_line(f"allow tcp {r['dport']} ::/0 any ::/0", r["comment"])
        else:
            v4 += tuple_line(f"allow tcp any 0.0.0.0/0 {r['sport']} {r['src']}", r["comment"])
    fw.files[0].write_text(v4 + extra)
    fw.files[1].write_text(v6)
    (fw.files[0].parents[1] / "default/ufw").write_text(
        'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n'
        'DEFAULT_FORWARD_POLICY="DROP"\n'
    )
    (fw.files[0].parent / "ufw.conf").write_text("ENABLED=yes\n")


def test_desired_is_ssh_the_mail_ports_and_the_master(fw):
    rules = fw.desired(fw.settings)
    ports = [r["dport"] for r in rules if r["src"] == "any"]
    assert ports == ["22", "25", "143", "443", "465", "587", "993", "4190"]
    master = [r for r in rules if r["src"] != "any"]
    assert master == [
        {
            "action": "allow",
            "proto": "tcp",
            "dport": "any",
            "src": "198.51.100.1",
            "sport": "4505,4506",
            "comment": "mailserver salt-master",
        }
    ]


def test_the_master_rule_needs_no_publish_port_in_the_minions_options(fw):
    """The bug: a minion with only `master:` set has no publish_port in its options, and
    the firewall state raised KeyError on every run (ufw never enabled)."""
    assert "publish_port" not in fw.__opts__
    assert fw.desired()[-1]["sport"] == "4505,4506"
    fw.__opts__["publish_port"] = 14505
    assert fw.desired()[-1]["sport"] == "4506,14505"


def test_a_masterless_minion_needs_no_master_rule(fw):
    fw.__opts__["file_client"] = "local"
    assert all(r["src"] == "any" for r in fw.desired(fw.settings))


def test_fresh_host_plan_sets_policies_adds_everything_and_enables(fw):
    fw.files[0].parents[1].joinpath("default/ufw").write_text(
        'IPV6=no\nDEFAULT_INPUT_POLICY="ACCEPT"\n'
    )
    todo = fw.plan(fw.settings)
    assert todo["policies"]["IPV6"] == "yes"
    assert todo["policies"]["DEFAULT_INPUT_POLICY"] == "DROP"
    assert len(todo["add"]) == 9 and todo["delete"] == [] and todo["enable"] is True


def test_in_force_plans_nothing_and_keeps_rules_added_by_hand(fw):
    write_in_force(fw, extra=tuple_line("allow tcp 8080 0.0.0.0/0 any 192.0.2.7", None))
    todo = fw.plan(fw.settings)
    assert todo == {"policies": {}, "add": [], "delete": [], "enable": False}
    assert [r["dport"] for r in fw.rules()["other"]] == ["8080"]


def test_a_port_taken_out_of_the_map_is_deleted_and_ssh_is_added_before(fw, model):
    write_in_force(fw)
    moved = model(ssh={"port": 2222})
    moved["services"] = [s for s in moved["services"] if s["name"] != "managesieve"]
    fw.calls.clear()
    fw.apply(moved)
    commands = [" ".join(argv[1:]) for argv in fw.calls if argv[0] == "ufw"]
    added = "allow proto tcp from any to any port 2222 comment mailserver ssh"
    assert added in commands
    deleted = [c for c in commands if c.startswith("delete")]
    assert deleted == [
        "delete allow proto tcp from any to any port 22",
        "delete allow proto tcp from any to any port 4190",
    ]
    assert commands.index(added) < commands.index(deleted[0])  # never without SSH


def test_extra_rules_from_pillar(fw, model):
    settings = model(firewall={"allow": [{"port": 9100, "from": "192.0.2.0/24"}]})
    extra = fw.desired(settings)[-1]
    assert fw._spec(extra) == [
        "allow", "proto", "tcp", "from", "192.0.2.0/24", "to", "any", "port", "9100"
    ]  # fmt: skip
