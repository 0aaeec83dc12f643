"""Unit tests of the model (defaults + pillar, checked, normalised, with derived facts)."""

from __future__ import annotations

import json

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from tests.unit.conftest import ADMIN, KEY


def with_admin(pillar):
    return {**ADMIN, **pillar} if isinstance(pillar, dict) else pillar


def test_defaults_complete_from_the_minion(mod, defaults):
    out = mod.settings(defaults, with_admin({}))
    assert out["hostname"] == "mail.example.org"
    assert out["mailname"] == "example.org"
    assert "openssl" in out["base"]["pkgs"]
    # the host's public addresses: no loopback, no link-local
    assert out["dns"]["addresses"] == {"ipv4": ["198.51.100.10"], "ipv6": ["2001:db8:100::10"]}


def test_pillar_overrides_and_is_normalised(mod, defaults):
    out = mod.settings(
        defaults, with_admin({"hostname": "MX1.Example.COM.", "mailname": "Example.NET."})
    )
    assert out["hostname"] == "mx1.example.com"
    assert out["mailname"] == "example.net"


def test_domains_are_normalised_once_and_every_fact_uses_the_normalised_name(minion, model):
    """A pillar domain written `Example.COM.` is example.com everywhere: the model, the
    certificate's names, the MTA-STS names, the records (the bug: the normalised accounts
    were checked, then thrown away)."""
    out = model(domains=["Example.COM."])
    assert out["accounts"]["domains"] == ["example.com"]
    assert "mta-sts.example.com" in out["tls"]["names"]
    assert out["dns"]["mta_sts"]["names"] == ["mta-sts.example.com"]
    lines = minion.mods["mailserver_dns"].records(out, dkim={})
    assert "example.com. 3600 IN MX 10 mx1.example.com." in lines
    assert not any("Example" in line or ".." in line for line in lines)


@pytest.mark.parametrize(
    ("pillar", "message"),
    [
        ({"ports": {"smtp": True}}, "pillar mailserver:ports:smtp: must be int, not bool"),
        ({"ports": {"smtp": "25"}}, "pillar mailserver:ports:smtp: must be int, not str"),
        ({"ports": {"imap": 25}}, "pillar mailserver:ports:imap: port 25 is already smtp's"),
        ({"ssh": {"port": 587}}, "pillar mailserver:ports:submission: port 587 is already"),
        ({"hostname": 5}, "pillar mailserver:hostname: must be str, not int"),
        ({"hostname": "localhost"}, "pillar mailserver:hostname: 'localhost' is not a fully"),
        ({"extra": 1}, "pillar mailserver:extra: unknown key"),
        ({"base": {"pkgz": []}}, "pillar mailserver:base:pkgz: unknown key"),
        ({"base": {"pkgs": [""]}}, "pillar mailserver:base:pkgs: must be a list of package"),
        ({"base": {"pkgs": {"a": 1}}}, "pillar mailserver:base:pkgs: must be list, not dict"),
        ({"store": {"pkgs": {"encfs": "encfs"}}}, "pillar mailserver:store:pkgs:encfs: must be"),
        ({"store": {"backend": "gocryptfs"}}, "pillar mailserver:store:backend: gocryptfs 2.3 in"),
        ("text", "pillar mailserver:: must be a mapping, not str"),
        ({"ports": {"smtp": 0}}, "pillar mailserver:ports:smtp: 0 is not a port number"),
        ({"tls": {"certificate": "PEM"}}, "pillar mailserver:tls: give both certificate"),
        ({"purge_removed_mailboxes": "yes"}, "pillar mailserver:purge_removed_mailboxes: must"),
        ({"domains": "example.com"}, "pillar mailserver:domains: must be a list"),
        ({"admin": {"name": "root", "ssh_keys": [KEY]}}, "pillar mailserver:admin:name: 'root'"),
        ({"admin": {"name": "ops", "ssh_keys": []}}, "pillar mailserver:admin:ssh_keys: must"),
        ({"admin": {"name": "ops", "ssh_keys": ["hunter2"]}}, "pillar mailserver:admin:ssh_keys"),
        ({"dns": {"mta_sts": {"mode": "strict"}}}, "pillar mailserver:dns:mta_sts:mode: 'strict'"),
        ({"dns": {"mta_sts": {"max_age": 60}}}, "pillar mailserver:dns:mta_sts:max_age: 60 is"),
        ({"dns": {"tlsrpt_rua": "tls@x.example"}}, "pillar mailserver:dns:tlsrpt_rua: 'tls@x"),
        ({"dns": {"spf": "mx -all"}}, "pillar mailserver:dns:spf: 'mx -all' does not start"),
        ({"chrony": {"clock_control": "yes"}}, "pillar mailserver:chrony:clock_control: must"),
        (
            {"store": {"cipher_dir": "/mail/decrypted-mail/cipher"}},
            "pillar mailserver:store:mount_point: the cipher directory and the mount point",
        ),
        ({"store": {"mail_root": "/var/mail"}}, "pillar mailserver:store:mail_root: must be"),
        ({"store": {"dependents": ["dovecot"]}}, "pillar mailserver:store:dependents: 'dovecot'"),
        # spam filtering, greylisting, sending limits
        ({"rspamd": {"reject": "high"}}, "pillar mailserver:rspamd:reject: must be float, not"),
        ({"rspamd": {"reject": True}}, "pillar mailserver:rspamd:reject: must be float, not bool"),
        ({"rspamd": {"add_header": 20}}, "pillar mailserver:rspamd:add_header: must be above 0"),
        ({"rspamd": {"add_header": 0}}, "pillar mailserver:rspamd:add_header: must be above 0"),
        ({"rspamd": {"bayes": "shared"}}, "pillar mailserver:rspamd:bayes: 'shared' is not"),
        ({"rspamd": {"test_patterns": 1}}, "pillar mailserver:rspamd:test_patterns: must be bool"),
        ({"rspamd": {"milter_port": 25}}, "pillar mailserver:rspamd:milter_port: port 25 is"),
        ({"postgrey": {"delay": 0}}, "pillar mailserver:postgrey:delay: 0 is not 1..86400"),
        ({"postgrey": {"delay": "5m"}}, "pillar mailserver:postgrey:delay: must be int, not str"),
        (
            {"postgrey": {"whitelist_clients": ["not a host!"]}},
            "pillar mailserver:postgrey:whitelist_clients:0: 'not a host!' is not an address",
        ),
        (
            {"postgrey": {"whitelist_recipients": ["a@b@c"]}},
            "pillar mailserver:postgrey:whitelist_recipients:0: 'a@b@c' is not user@domain",
        ),
        ({"postfwd": {"messages_per_hour": 0}}, "pillar mailserver:postfwd:messages_per_hour: 0"),
        (
            {"postfwd": {"hard_messages_per_hour": 50}},
            "pillar mailserver:postfwd:hard_messages_per_hour: must be above postfwd:messages_per",
        ),
        (
            {"postfwd": {"recipients_per_day": 5000}},
            "pillar mailserver:postfwd:hard_recipients_per_day: must be above postfwd:recipients",
        ),
        ({"postfwd": {"port": 10023}}, "pillar mailserver:postfwd:port: port 10023 is already"),
        # the webmail and the clients' autoconfiguration
        ({"webmail": {"enabled": "yes"}}, "pillar mailserver:webmail:enabled: must be bool"),
        ({"webmail": {"name": "webmail"}}, "pillar mailserver:webmail:name: 'webmail' is not a"),
        ({"webmail": {"languages": []}}, "pillar mailserver:webmail:languages: name at least"),
        ({"webmail": {"languages": "en"}}, "pillar mailserver:webmail:languages: must be list"),
        ({"webmail": {"languages": ["English"]}}, "pillar mailserver:webmail:languages:0: 'Eng"),
        ({"webmail": {"plugins": ["../x"]}}, "pillar mailserver:webmail:plugins:0: '../x' is not"),
        ({"webmail": {"session_lifetime": 0}}, "pillar mailserver:webmail:session_lifetime: 0 is"),
        ({"webmail": {"product_name": "a'b"}}, "pillar mailserver:webmail:product_name: must not"),
        (
            {"webmail": {"content_security_policy": "default-src *"}},
            "pillar mailserver:webmail:content_security_policy: must be list, not str",
        ),
        (
            {"webmail": {"content_security_policy": ['default-src "x"']}},
            "pillar mailserver:webmail:content_security_policy:0: must not hold",
        ),
        ({"autoconfig": {"enabled": 1}}, "pillar mailserver:autoconfig:enabled: must be bool"),
        ({"autoconfig": {"display_name": "<b>"}}, "pillar mailserver:autoconfig:display_name:"),
        ({"webmail": {"typo": 1}}, "pillar mailserver:webmail:typo: unknown key"),
        (
            {"dovecot": {"fts": {"partial": 2}}},
            "pillar mailserver:dovecot:fts:partial: 2 is not 3..20 characters",
        ),
        (
            {"dovecot": {"imap_logins_waiting": 101}},
            "pillar mailserver:dovecot:imap_logins_waiting: 101 is not 0..100",
        ),
        (
            {"dovecot": {"imap_logins_waiting": "10"}},
            "pillar mailserver:dovecot:imap_logins_waiting: must be int",
        ),
    ],
)
def test_bad_pillar_names_key_and_reason(mod, defaults, pillar, message):
    with pytest.raises(SaltInvocationError) as err:
        mod.settings(defaults, with_admin(pillar))
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("mx1.example.com", True),
        ("a-b.c", True),
        ("example", False),
        ("-a.example.com", False),
        ("a_b.example.com", False),
        ("a" * 64 + ".com", False),
        ("", False),
        (None, False),
    ],
)
def test_is_hostname(mod, name, ok):
    assert mod.is_hostname(name) is ok


def test_clock_control_follows_cap_sys_time_of_init(mod, tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tsystemd\nCapBnd:\t00000000fcecbfff\n")  # a systemd-nspawn guest
    assert mod.can_set_clock(str(status)) is False
    status.write_text("Name:\tsystemd\nCapBnd:\t000001ffffffffff\n")
    assert mod.can_set_clock(str(status)) is True


def test_mta_sts_enforces_only_with_a_certificate_senders_can_verify(model):
    out = model(domains=["example.com"])
    assert out["dns"]["mta_sts"]["mode"] == "testing"  # self-signed
    assert out["tls"]["names"] == [
        "mx1.example.com",
        "mta-sts.example.com",
        "autoconfig.example.com",
        "autodiscover.example.com",
    ]
    policy = out["dns"]["mta_sts"]["policy"]
    assert policy == "version: STSv1\nmode: testing\nmx: mx1.example.com\nmax_age: 604800\n"
    acme = {"acme": {"enabled": True, "names": ["webmail.example.com"]}}
    enforced = model(domains=["example.com"], tls=acme)
    assert enforced["dns"]["mta_sts"]["mode"] == "enforce"
    assert enforced["tls"]["names"][-1] == "webmail.example.com"
    # the id is a digest of the policy: it changes when the policy does
    assert enforced["dns"]["mta_sts"]["id"] != out["dns"]["mta_sts"]["id"]


PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEsecretkeymaterial\n-----END PRIVATE KEY-----\n"


def test_the_model_holds_no_secret(minion, model, tmp_path):
    """Neither the TLS key from pillar nor a password hash is in the model, in what
    mailserver.current returns (a job return) or in the snapshot the highstate writes."""
    out = model(
        tls={"certificate": PEM_CERT, "private_key": PEM_KEY},
        mailboxes={"a@example.com": {"password_hash": "$6$salt$" + "x" * 86}},
    )
    text = json.dumps(out)
    assert "secretkeymaterial" not in text and "PRIVATE KEY" not in text
    assert "$6$salt$" not in text
    assert out["tls"]["source"] == "pillar" and out["accounts"]["mailboxes"] == 1
    assert json.dumps(minion.mods["mailserver"].current()) == text
    # the hashes live in this run's memory only, for the accounts module
    assert minion.context["mailserver.accounts"]["mailboxes"]["a@example.com"]["password"]


def test_the_model_is_computed_once_per_run_for_the_same_pillar(minion, mod, defaults):
    calls = []
    validate = minion.salt["mailserver_accounts.validate"]
    minion.salt["mailserver_accounts.validate"] = lambda a: calls.append(1) or validate(a)
    pillar = with_admin({"domains": ["example.com"]})
    first = mod.settings(defaults, pillar)
    assert mod.settings(defaults, json.loads(json.dumps(pillar))) is first
    assert len(calls) == 1
    second = mod.settings(defaults, with_admin({"domains": ["example.org"]}))
    assert second["accounts"]["domains"] == ["example.org"] and len(calls) == 2


def test_a_bad_pillar_is_judged_once_per_run_and_refused_at_every_call(minion, mod, defaults):
    """Every SLS of a highstate asks for the model: a bad pillar is checked once, and each
    of them is refused with the same message naming the key."""
    calls = []
    validate = minion.salt["mailserver_accounts.validate"]
    minion.salt["mailserver_accounts.validate"] = lambda a: calls.append(1) or validate(a)
    pillar = with_admin({"domains": ["example.com"], "aliases": {"a@example.com": "not mail"}})
    for _ in range(3):
        with pytest.raises(SaltInvocationError, match=r"^pillar mailserver:aliases:a@example"):
            mod.settings(defaults, pillar)
    assert len(calls) == 1


def test_public_services_are_derived_once(model):
    """One list for the firewall, fail2ban and the status check."""
    plain = model()
    assert [(s["name"], s["port"], s["proto"]) for s in plain["services"]] == [
        ("ssh", 22, "tcp"),
        ("smtp", 25, "tcp"),
        ("imap", 143, "tcp"),
        ("https", 443, "tcp"),
        ("submissions", 465, "tcp"),
        ("submission", 587, "tcp"),
        ("imaps", 993, "tcp"),
        ("managesieve", 4190, "tcp"),
    ]
    assert plain["fail2ban"]["jails"]["postfix-sasl"]["closes"] == "25,587,465"
    full = model(tls={"acme": {"enabled": True}}, dns={"authoritative": {"enabled": True}})
    extra = {(s["name"], s["port"], s["proto"], s["probe"]) for s in full["services"]}
    assert {("acme-http", 80, "tcp", False), ("dns", 53, "udp", True)} <= extra
    assert full["dns"]["zones"] == ["example.com", "example.org"]


def test_the_mailbox_layout_is_one_pattern(model):
    store = model()["store"]
    assert store["mailbox_dir"] == "/mail/decrypted-mail/vhosts/{domain}/{local}"
    dovecot = model()["dovecot"]
    assert dovecot["mailbox"] == "/mail/decrypted-mail/vhosts/%d/%n"
    # the home holds locks only (made with link(), which EncFS refuses): on tmpfs
    assert dovecot["home"] == "/run/dovecot-volatile/%d/%n"
    assert store["subdirs"][0]["path"] == "vhosts"


def test_missing_libraries_are_named_with_the_command_that_installs_them(mod, defaults):
    mod.REQUIREMENTS = {"no_such_module_xyz": "passlib", **mod.REQUIREMENTS}
    with pytest.raises(CommandExecutionError) as err:
        mod.settings(defaults, with_admin({}))
    message = str(err.value)
    assert "lacks passlib" in message
    assert "salt-pip install passlib pymysql dnspython" in message


def test_current_reads_the_snapshot_from_the_command_line(minion, model, tmp_path):
    mod = minion.mods["mailserver"]
    with pytest.raises(CommandExecutionError, match="the highstate writes them"):
        mod.current()
    out = model()
    (tmp_path / "settings.json").write_text(json.dumps(out))
    minion.context.clear()  # a new job: no run of the states
    assert mod.current() == json.loads(json.dumps(out))


def test_one_error_class_for_a_bad_pillar(mod, defaults):
    """A bad account is reported like any other bad key: the model's PillarError."""
    with pytest.raises(mod.PillarError) as err:
        mod.settings(defaults, with_admin({"domains": ["example.com"], "aliases": {"x": "y"}}))
    assert err.value.key == "aliases:x" and "not a valid mail address" in err.value.reason


def test_an_alias_into_a_domain_the_host_stops_receiving_for_is_refused(minion, model):
    """Removing a domain that aliases still point into would send their mail out to the
    Internet: refused, naming the alias, against the last highstate's snapshot."""
    with open(minion.opts["mailserver_settings_file"], "w", encoding="utf-8") as fh:
        json.dump(model(), fh)  # the last highstate: example.com and example.org
    alias = {"info@example.com": "carol@example.org"}
    with pytest.raises(SaltInvocationError) as err:
        model(domains=["example.com"], aliases=alias)
    assert str(err.value).startswith(
        "pillar mailserver:aliases:info@example.com: destination carol@example.org is in "
        "example.org, which this host no longer receives for"
    )
    # without the alias the domain goes (its mailboxes' mail is kept aside, as always)
    assert model(domains=["example.com"])["accounts"]["domains"] == ["example.com"]
    # and a domain never received for here is an ordinary outside destination
    assert model(domains=["example.com"], aliases={"info@example.com": "x@example.net"})


def test_the_upgrade_guards_probe_mailbox_is_reserved(model):
    """The probe is the reserved local part at the first domain; pillar may not take it."""
    assert model()["updates"]["guard"]["probe"] == "mailserver-guard@example.com"
    assert model(updates={"guard": {"enabled": False}})["updates"]["guard"]["probe"] is None
    for section, value in (
        ("mailboxes", {"mailserver-guard@example.org": {"password_hash": "$6$x$" + "a" * 86}}),
        ("aliases", {"mailserver-guard@example.org": "x@example.net"}),
    ):
        with pytest.raises(SaltInvocationError) as err:
            model(**{section: value})
        assert str(err.value).startswith(
            f"pillar mailserver:{section}:mailserver-guard@example.org: the local part "
            "mailserver-guard is reserved for the upgrade guard's probe mailbox"
        )
    with pytest.raises(SaltInvocationError, match="updates:guard:probe_local: 'a b'"):
        model(updates={"guard": {"probe_local": "a b"}})


CLUSTER = {
    "mx1.example.com": {"roles": ["primary"]},
    "mx2.example.com": {"roles": ["backup_mx"], "ipv4": ["198.51.100.11"]},
    "mx3.example.net": {"roles": ["backup_mx"], "preference": 30, "ipv6": ["2001:db8:100::13"]},
}


def test_the_cluster_is_this_host_alone_unless_pillar_names_its_hosts(model):
    alone = model()["cluster"]
    assert alone["hosts"] == [
        {
            "name": "mx1.example.com",
            "roles": ["primary"],
            "preference": 10,
            "ipv4": ["198.51.100.10"],
            "ipv6": ["2001:db8:100::10"],
        }
    ]
    assert (alone["roles"], alone["primary"], alone["replica"]) == (
        ["primary"],
        alone["hosts"][0]["name"],
        "",
    )
    out = model(cluster={"hosts": CLUSTER})
    cluster = out["cluster"]
    # as senders try them: by preference, the primary's defaulting to 10, the others' to 20
    assert [(h["name"], h["preference"]) for h in cluster["hosts"]] == [
        ("mx1.example.com", 10),
        ("mx2.example.com", 20),
        ("mx3.example.net", 30),
    ]
    assert cluster["hosts"][0]["ipv4"] == ["198.51.100.10"]  # this host's: dns:addresses
    assert cluster["hosts"][1]["roles"] == ["backup_mx"]
    assert (cluster["primary"], cluster["replica"]) == ("mx1.example.com", "")
    # every MX host is in the MTA-STS policy (enforcing senders refuse any other)
    policy = out["dns"]["mta_sts"]["policy"]
    assert "mx: mx1.example.com\nmx: mx2.example.com\nmx: mx3.example.net\n" in policy
    assert out["dns"]["mta_sts"]["id"] != model()["dns"]["mta_sts"]["id"]
    # the primary delivers; the other hosts' mail is trusted here, and they are never banned
    assert cluster["relay_to"] == "" and out["dkim"]["selector_prefix"] == ""
    assert cluster["peers"] == ["198.51.100.11", "2001:db8:100::13"]
    assert {"198.51.100.11", "2001:db8:100::13"} <= set(out["fail2ban"]["ignoreip"])
    assert alone["peers"] == [] and alone["relay_to"] == ""


def test_a_host_other_than_the_primary_hands_mail_over_to_it(model):
    hosts = {**CLUSTER, "mx1.example.com": {"roles": ["primary"], "ipv4": ["198.51.100.10"]}}
    own = {"addresses": {"ipv4": ["198.51.100.13"], "ipv6": ["2001:db8:100::13"]}}
    out = model(hostname="mx3.example.net", cluster={"hosts": hosts}, dns=own)
    cluster = out["cluster"]
    assert cluster["relay_to"] == "mx1.example.com"
    assert cluster["roles"] == ["backup_mx"]
    assert cluster["peers"] == ["198.51.100.10", "198.51.100.11"]
    # its DKIM keys get selectors of their own (no two hosts publish one name)
    assert out["dkim"]["selector_prefix"] == "mx3-"


def test_the_primary_and_the_replica_are_each_others_partner(model):
    hosts = {**CLUSTER, "mx2.example.com": {"roles": ["replica"], "ipv4": ["198.51.100.11"]}}
    out = model(cluster={"hosts": hosts})
    assert out["cluster"]["partner"] == "mx2.example.com"
    # doveadm's port open to the partner alone
    assert {"port": 12345, "proto": "tcp", "from": "198.51.100.11"} in out["firewall"]["allow"]
    # only the primary and the backup MXes are MX hosts
    assert [h["name"] for h in out["cluster"]["mx"]] == ["mx1.example.com", "mx3.example.net"]
    assert model(cluster={"hosts": CLUSTER})["cluster"]["partner"] == ""


REPLICATOR = (  # doveadm replicator status '*'
    "username             priority fast sync full sync success sync failed\n"
    "alice@example.com    none     00:00:03  00:12:01  00:00:03     -\n"
    "bob@example.com      {}     00:03:10  00:12:01  00:03:10     {}\n"
)


JOURNAL = (  # journalctl -o cat -u dovecot
    "doveadm(bob@example.com)<7><a>: Error: dsync(mx2.example.com): Couldn't lock\n"
    "doveadm(alice@example.com)<8><b>: Error: dsync(mx2.example.com): other\n"
    "doveadm(bob@example.com)<9><c>: Error: dsync(mx2.example.com): I/O has stalled\n"
)


def test_the_status_check_reports_a_failed_replication(model, minion):
    hosts = {**CLUSTER, "mx2.example.com": {"roles": ["replica"], "ipv4": ["198.51.100.11"]}}
    settings = model(cluster={"hosts": hosts})
    check = minion.mods["mailserver_cluster"].check_items
    asked = []

    def replicator(*states, retcode=0):
        """doveadm's answers: bob's (priority, failed) at each look, the last one after"""
        states = list(states)

        def run_all(cmd, **kw):
            if cmd[0] == "journalctl":
                return {"retcode": 0, "stdout": JOURNAL, "stderr": ""}
            if cmd[2] == "replicate":
                asked.append(cmd[-1])
                return {"retcode": 0, "stdout": "", "stderr": ""}
            state = states.pop(0) if len(states) > 1 else states[0]
            return {"retcode": retcode, "stdout": REPLICATOR.format(*state), "stderr": ""}

        minion.salt["cmd.run_all"] = run_all

    replicator(("none", "-"))
    [item] = check(settings)
    assert item == {
        "name": "mailbox replication with mx2.example.com",
        "ok": True,
        "detail": "2 mailboxes, last syncs succeeded",
    }
    assert asked == []
    # a failure that has passed: asked again at high priority, queued, then synced
    replicator(("none", "y"), ("high", "y"), ("none", "-"))
    assert check(settings, wait=5)[0]["ok"]
    assert asked == ["bob@example.com"]
    # a failure that stays: asked again after each failed attempt, and reported after the
    # wait with the last error Dovecot logged for the user
    asked.clear()
    replicator(("none", "y"))
    [item] = check(settings, wait=1)
    assert not item["ok"]
    assert item["detail"] == (
        "last sync failed: bob@example.com (asked again, waited 1 s); bob@example.com: "
        "dsync(mx2.example.com): I/O has stalled"
    )
    assert len(asked) >= 2 and set(asked) == {"bob@example.com"}
    replicator(("high", "-"))
    assert check(settings, wait=1)[0]["detail"] == (
        "1 of 2 mailboxes still queued for a sync after 1 s"
    )
    replicator(("none", "-"), retcode=75)
    assert not check(settings)[0]["ok"]
    # a host without a partner has no such item
    assert check(model(cluster={"hosts": CLUSTER})) == []


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ([], "pillar mailserver:cluster:hosts: must be a mapping, not list"),
        ({"mx2.example.com": {"roles": ["primary"], "ipv4": ["198.51.100.11"]}},
         "pillar mailserver:cluster:hosts: this host, mx1.example.com, is not one of them"),
        ({**CLUSTER, "mx2.example.com": {"roles": ["backup_mx"]}},
         "pillar mailserver:cluster:hosts:mx2.example.com: another host needs its addresses"),
        ({**CLUSTER, "mx2.example.com": {"roles": ["backup_mx"], "ipv4": ["198.51.100.10"]}},
         "pillar mailserver:cluster:hosts:mx2.example.com: 198.51.100.10 is this host's own"),
        ({**CLUSTER, "mx3.example.net": {"roles": ["primary"], "ipv4": ["198.51.100.13"]}},
         "pillar mailserver:cluster:hosts: 2 hosts are primary (one is)"),
        ({"mx1.example.com": {"roles": ["replica"]}},
         "pillar mailserver:cluster:hosts: 0 hosts are primary (one is)"),
        ({**CLUSTER, "mx2.example.com": {"roles": ["replica"], "ipv4": ["198.51.100.11"]},
          "mx3.example.net": {"roles": ["replica"], "ipv4": ["198.51.100.13"]}},
         "pillar mailserver:cluster:hosts: 2 hosts are replica (one at most)"),
        ({"mx1.example.com": {"roles": ["primary", "replica"]}},
         "pillar mailserver:cluster:hosts:mx1.example.com:roles: the primary has no other role"),
        ({"mx1.example.com": {"roles": ["secondary"]}},
         "pillar mailserver:cluster:hosts:mx1.example.com:roles: 'secondary' is not one of"),
        ({"mx1.example.com": {"roles": "primary"}},
         "pillar mailserver:cluster:hosts:mx1.example.com:roles: a list of one or more of"),
        ({"mx1.example.com": {"roles": ["primary"], "weight": 1}},
         "pillar mailserver:cluster:hosts:mx1.example.com:weight: unknown key"),
        ({"mx1.example.com": {"roles": ["primary"], "preference": 70000}},
         "pillar mailserver:cluster:hosts:mx1.example.com:preference: 70000 is not 0..65535"),
        ({"mx1.example.com": {"roles": ["primary"], "ipv4": ["2001:db8::1"]}},
         "pillar mailserver:cluster:hosts:mx1.example.com:ipv4:0: '2001:db8::1' is not an ipv4"),
        ({"mx1": {"roles": ["primary"]}},
         "pillar mailserver:cluster:hosts: 'mx1' is not a fully qualified host name"),
    ],
)  # fmt: skip
def test_a_bad_cluster_names_the_host_key_and_reason(model, hosts, message):
    with pytest.raises(SaltInvocationError) as err:
        model(cluster={"hosts": hosts})
    assert str(err.value).startswith(message)


def test_the_guard_s_probe_mailbox_is_never_replicated():
    """Each host of a pair logs into the probe mailbox for itself: replicated, its INBOX
    made on both hosts apart would conflict (dsync: "GUIDs conflict")."""
    from tests.unit.conftest import load

    queries = load("mailserver_db")._dovecot_queries(["mailserver-guard@example.com"])
    assert (
        "IF(email IN ('mailserver-guard@example.com'), 'y', NULL) AS noreplicate"
        in (queries["user_query"])
    )
    assert queries["iterate_query"].endswith("WHERE email NOT IN ('mailserver-guard@example.com')")
    with pytest.raises(ValueError):
        load("mailserver_db")._dovecot_queries(["x'; DROP TABLE virtual_users; --@a"])
    # without a host-local mailbox, the queries as they are
    alone = load("mailserver_db")._dovecot_queries([])
    assert alone["user_query"] == (
        "SELECT email AS user, CONCAT('*:bytes=', quota) AS quota_rule "
        "FROM virtual_users WHERE email='%u'"
    )
    assert alone["iterate_query"] == "SELECT email AS user FROM virtual_users"
