"""Every SLS of the formula renders against the example pillar; bad pillar stops the render."""

from __future__ import annotations

import pytest

from tests.conftest import REPO


def all_sls() -> list[str]:
    names = []
    for path in sorted((REPO / "salt" / "mailserver").rglob("*.sls")):
        rel = path.relative_to(REPO / "salt").with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "init":
            parts.pop()
        names.append(".".join(parts))
    return names


def test_there_is_something_to_render():
    assert "mailserver" in all_sls()
    assert "mailserver.base.package" in all_sls()


@pytest.mark.parametrize("sls", all_sls())
def test_sls_renders_with_example_pillar(modules, sls):
    ret = modules.state.show_sls(sls)
    assert isinstance(ret, dict), ret  # a render error comes back as a list of messages
    for sid, body in ret.items():
        assert sid.startswith("mailserver-"), f"state ID {sid} does not follow the house style"
        assert body["__sls__"].startswith("mailserver")


def test_jails_read_the_journal_and_close_the_ports_of_the_map(modules):
    ret = modules.state.show_sls("mailserver.fail2ban")
    body = ret["mailserver-fail2ban-file-managed-jails"]["file"]
    text = next(arg["contents"] for arg in body if "contents" in arg)
    assert "backend = systemd" in text
    assert "198.51.100.20 2001:db8:100::20" in text  # the example pillar's ignoreip
    jails = text.split("\n[")
    sasl = next(j for j in jails if j.startswith("postfix-sasl]"))
    assert "port = 25,587,465" in sasl
    dovecot = next(j for j in jails if j.startswith("dovecot]"))
    assert "port = 143,993,4190" in dovecot
    recidive = next(j for j in jails if j.startswith("recidive]"))
    assert "backend = polling" in recidive and "logpath = /var/log/fail2ban.log" in recidive


def test_highstate_top_targets_mail_hosts(modules):
    top = modules.state.show_top()
    assert top == {"base": ["mailserver"]}


def test_mailname_comes_from_pillar(modules):
    ret = modules.state.show_sls("mailserver.base.config")
    body = ret["mailserver-base-config-file-managed-mailname"]["file"]
    assert {"contents": "example.com"} in body
    assert {"name": "/etc/mailname"} in body


@pytest.mark.parametrize(
    ("pillar", "key", "reason"),
    [
        ({"hostname": "not a host name"}, "mailserver:hostname", "not a fully qualified"),
        ({"hostnme": "mx1.example.com"}, "mailserver:hostnme", "unknown key"),
        ({"base": ["x"]}, "mailserver:base", "must be a mapping"),
        ({"base": {"pkgs": "openssl"}}, "mailserver:base:pkgs", "must be list"),
        ({"mailname": "-bad-.example"}, "mailserver:mailname", "not a domain name"),
        (
            {"fail2ban": {"ignoreip": ["198.51.100.300"]}},
            "mailserver:fail2ban:ignoreip",
            "not an address or network",
        ),
        (
            {"firewall": {"allow": [{"port": 70000}]}},
            "mailserver:firewall:allow:0:port",
            "not a port number",
        ),
        (
            {"firewall": {"allow": [{"port": 9100, "from": "the office"}]}},
            "mailserver:firewall:allow:0:from",
            "not an address or network",
        ),
        (
            {"tls": {"acme": {"enabled": True, "server": "http://insecure.example/dir"}}},
            "mailserver:tls:acme:server",
            "is not an https:// URL",
        ),
        (
            {"tls": {"acme": {"ca_bundle": "not a certificate"}}},
            "mailserver:tls:acme:ca_bundle",
            "must be PEM",
        ),
        (
            {"chrony": {"servers": [], "pools": []}},
            "mailserver:chrony",
            "at least one host name",
        ),
        (
            {"dns": {"addresses": {"ipv4": ["2001:db8::1"]}}},
            "mailserver:dns:addresses:ipv4",
            "is not an ipv4 address",
        ),
        (
            {"fail2ban": {"jails": {"sshd": {"ports": ["telnet"]}}}},
            "mailserver:fail2ban:jails:sshd:ports",
            "'telnet' is not ssh or a name from ports",
        ),
        (
            {"dns": {"resolver": {"trust_anchors": ["257 3 13 not base64!"]}}},
            "mailserver:dns:resolver:trust_anchors:0",
            "must be a root KSK's DNSKEY data",
        ),
        (
            {"dns": {"authoritative": {"secondaries": [{"name": "ns2.example.net"}]}}},
            "mailserver:dns:authoritative:secondaries:0",
            "must be {name: <host name>, address: <IP address>}",
        ),
        (
            {"dns": {"mta_sts": {"mode": "on"}}},
            "mailserver:dns:mta_sts:mode",
            "'on' is not enforce, testing or none",
        ),
    ],
)
def test_bad_pillar_fails_the_render_naming_key_and_reason(modules, pillar, key, reason):
    ret = modules.state.show_sls("mailserver", pillar={"mailserver": pillar})
    assert isinstance(ret, list), f"bad pillar rendered: {ret}"
    message = "\n".join(ret)
    assert f"pillar {key}:" in message
    assert reason in message


def test_acme_replaces_the_self_signed_certificate_and_opens_http(modules):
    pillar = {"mailserver": {"tls": {"acme": {"enabled": True, "names": ["mail.example.org"]}}}}
    ret = modules.state.show_sls("mailserver.tls", pillar=pillar)
    assert isinstance(ret, dict), ret
    assert "mailserver-tls-x509-certificate-managed" not in ret
    body = ret["mailserver-tls-acme-certificate"]["mailserver_acme"]
    names = ["mx1.example.com", "mta-sts.example.com", "mta-sts.example.org", "mail.example.org"]
    assert {"domains": names} in body
    fw = modules.state.show_sls("mailserver.firewall", pillar=pillar)
    settings = next(a["settings"] for a in fw["mailserver-firewall-enabled"]["mailserver_firewall"]
                    if "settings" in a)  # fmt: skip
    ports = {r["dport"] for r in modules.mailserver_firewall.desired(settings)}
    assert "80" in ports  # HTTP-01 validation


def test_the_web_server_serves_the_mta_sts_policy_on_https_only(modules):
    ret = modules.state.show_sls("mailserver.web")
    assert isinstance(ret, dict), ret
    policy = ret["mailserver-web-file-managed-mta-sts-policy"]["file"]
    contents = next(a["contents"] for a in policy if "contents" in a)
    assert "mode: testing\nmx: mx1.example.com\n" in contents  # self-signed: testing
    site = ret["mailserver-web-file-managed-site"]["file"]
    context = next(a["context"] for a in site if "context" in a)
    assert context["names"] == ["mta-sts.example.com", "mta-sts.example.org"]
    assert context["port"] == 443


def test_an_authoritative_host_serves_signed_zones_and_opens_port_53(modules):
    pillar = {"mailserver": {"dns": {"authoritative": {"enabled": True, "reverse": False}}}}
    ret = modules.state.show_sls("mailserver.bind", pillar=pillar)
    assert isinstance(ret, dict), ret
    zones = sorted(k for k in ret if k.startswith("mailserver-bind-zone-"))
    assert zones == ["mailserver-bind-zone-example.com", "mailserver-bind-zone-example.org"]
    fw = modules.state.show_sls("mailserver.firewall", pillar=pillar)
    settings = next(a["settings"] for a in fw["mailserver-firewall-enabled"]["mailserver_firewall"]
                    if "settings" in a)  # fmt: skip
    rules = {(r["proto"], r["dport"]) for r in modules.mailserver_firewall.desired(settings)}
    assert {("udp", "53"), ("tcp", "53")} <= rules
    # a resolver only: no zones, nothing opened
    ret = modules.state.show_sls("mailserver.bind")
    assert not [k for k in ret if k.startswith("mailserver-bind-zone-")]
    settings["dns"]["authoritative"]["enabled"] = False
    rules = {r["dport"] for r in modules.mailserver_firewall.desired(settings)}
    assert "53" not in rules


def test_with_acme_the_zones_come_before_the_ca_and_again_after_a_new_certificate(modules):
    dns = {"authoritative": {"enabled": True}}
    pillar = {"mailserver": {"dns": dns, "tls": {"acme": {"enabled": True}}}}
    ret = modules.state.show_sls("mailserver", pillar=pillar)
    assert isinstance(ret, dict), ret
    zone = ret["mailserver-bind-zone-example.com"]["mailserver_bind"]
    require_in = next(a["require_in"] for a in zone if "require_in" in a)
    assert {"mailserver_acme": "mailserver-tls-acme-certificate"} in require_in
    again = ret["mailserver-bind-zone-example.com-certificate"]["mailserver_bind"]
    onchanges = next(a["onchanges"] for a in again if "onchanges" in a)
    assert onchanges == [{"mailserver_acme": "mailserver-tls-acme-certificate"}]
