"""Every SLS of the formula renders against the example pillar; the configuration files the
templates make say what the model says; bad pillar stops the render."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

EXAMPLE = yaml.safe_load((REPO / "pillar/mailserver.sls").read_text())["mailserver"]


def merged(base, over):
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and key in out else value
    return out


def model(modules, over=None):
    """The model of the example pillar with ``over`` merged over it (as a pillar override)."""
    return modules.mailserver.settings(None, merged(EXAMPLE, over or {}))


def all_sls() -> list[str]:
    names = []
    for path in sorted((REPO / "salt" / "mailserver").rglob("*.sls")):
        rel = path.relative_to(REPO / "salt").with_suffix("")
        parts = list(rel.parts)
        if "orch" in parts:  # orchestrations render on the master (the lab runs them)
            continue
        if parts[-1] == "init":
            parts.pop()
        names.append(".".join(parts))
    return names


def low(modules, sls, pillar=None):
    """The state chunks of ``sls`` (``names`` expanded), by name of the file or the state."""
    kwargs = {"pillar": pillar} if pillar else {}
    chunks = modules.state.show_low_sls(sls, **kwargs)
    assert isinstance(chunks, list) and all(isinstance(c, dict) for c in chunks), chunks
    return chunks


def rendered(modules, sls, name, pillar=None) -> str:
    """The text the file state for ``name`` writes: its template rendered with its context,
    as the minion renders it."""
    chunk = next(c for c in low(modules, sls, pillar) if c["state"] == "file" and c["name"] == name)
    source = chunk["source"]
    assert source.startswith("salt://"), source
    text = (REPO / "salt" / source[len("salt://") :]).read_text()
    context = {**(chunk.get("defaults") or {}), **(chunk.get("context") or {})}
    return modules.file.apply_template_on_contents(
        text, template="jinja", context=context, defaults=None, saltenv="base"
    )


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


def test_configuration_text_comes_from_templates_under_files(modules):
    """One rule: a file state of the formula writes a template from <service>/files/ (or a
    secret from pillar, or the content of another file), never text written in the SLS."""
    for chunk in low(modules, "mailserver"):
        if chunk["state"] != "file" or chunk["fun"] != "managed":
            continue
        ok = (
            (
                str(chunk.get("source", "")).startswith("salt://mailserver/")
                and "/files/" in chunk["source"]
            )
            or "contents_pillar" in chunk
            or str(chunk.get("source", "")).startswith("/etc/")
        )
        assert ok, f"{chunk['__id__']} ({chunk['name']}) writes text from the SLS"
        assert "contents" not in chunk, chunk["__id__"]


def test_main_cf_names_the_milters_maps_and_certificate_of_the_model(modules):
    text = rendered(modules, "mailserver.postfix.config", "/etc/postfix/main.cf")
    assert "myhostname = mx1.example.com\n" in text
    # OpenDKIM, OpenDMARC, rspamd (docs/design.md: which checks what)
    assert (
        "smtpd_milters = inet:127.0.0.1:8891, inet:127.0.0.1:8893, inet:127.0.0.1:11332\n" in text
    )
    # Postgrey after the recipient is known to be ours, on port 25 only
    restrictions = re.search(r"^smtpd_recipient_restrictions =(.*\n)(\s.*\n)*", text, re.M)[0]
    assert (
        restrictions.index("reject_unlisted_recipient")
        < restrictions.index("reject_unauth_destination")
        < restrictions.index("inet:127.0.0.1:10023")
    )
    assert "non_smtpd_milters = inet:127.0.0.1:8891\n" in text
    assert "milter_default_action = tempfail\n" in text  # mail waits while a milter is down
    assert (
        "smtpd_tls_chain_files = /etc/mailserver/tls/privkey.pem, "
        "/etc/mailserver/tls/fullchain.pem\n" in text
    )
    for name in ("virtual-mailbox-domains", "virtual-mailbox-maps", "virtual-alias-maps"):
        assert f"proxy:mysql:/etc/postfix/sql/{name}.cf" in text
    assert "virtual_transport = lmtp:unix:private/dovecot-lmtp\n" in text
    assert "message_size_limit = 52428800\n" in text


def test_rspamd_asks_the_host_s_resolvers_and_greylisting_is_postgrey_s(modules):
    options = rendered(modules, "mailserver.rspamd.config", "/etc/rspamd/local.d/options.inc")
    # the lab's pillar runs BIND: DNS blocklists through the host's own resolver
    assert 'nameserver = ["127.0.0.1:53"' in options
    greylist = rendered(modules, "mailserver.rspamd.config", "/etc/rspamd/local.d/greylist.conf")
    assert "enabled = false;" in greylist
    for name in ("dmarc.conf", "dkim_signing.conf", "arc.conf"):  # OpenDMARC, OpenDKIM's
        assert "enabled = false;" in rendered(
            modules, "mailserver.rspamd.config", f"/etc/rspamd/local.d/{name}"
        )
    actions = rendered(modules, "mailserver.rspamd.config", "/etc/rspamd/local.d/actions.conf")
    assert "reject = 15.0;" in actions and "add_header = 6.0;" in actions


def test_rspamd_s_web_interface_is_served_only_when_asked_behind_a_password(modules):
    site = "/etc/nginx/sites-available/mailserver"
    assert "rspamd" not in rendered(modules, "mailserver.web.config", site)  # off by default
    pillar = {"mailserver": {"rspamd": {"web_ui": True}}}
    text = rendered(modules, "mailserver.web.config", site, pillar=pillar)
    server = next(b for b in text.split("\nserver {") if "server_name mx1.example.com;" in b)
    assert "location /rspamd/ {" in server and "proxy_pass http://127.0.0.1:11334/;" in server
    assert "auth_basic_user_file /etc/nginx/mailserver-rspamd.htpasswd;" in server
    # the controller trusts the loopback: nginx must not pass on who asks
    assert 'proxy_set_header X-Forwarded-For "";' in server
    assert "listen 443 ssl http2;" in server and "listen 80" not in text


def test_postfwd_counts_authenticated_senders_at_the_end_of_data(modules):
    rules = rendered(modules, "mailserver.postfwd.config", "/etc/postfix/postfwd.cf")
    ids = [line.split("=", 1)[1] for line in rules.splitlines() if line.startswith("id=")]
    # the hard limits first: they count every attempt, the deferred ones too
    assert ids == [
        "HARDLIMIT_MESSAGES",
        "HARDLIMIT_RECIPIENTS",
        "LIMIT_MESSAGES",
        "LIMIT_RECIPIENTS",
    ]
    assert rules.count("protocol_state==END-OF-MESSAGE") == 4
    assert "rate(sasl_username/100/3600/450 4.7.1" in rules
    assert "rcpt(sasl_username/3000/86400/450 4.7.1" in rules


def test_master_cf_listens_on_the_ports_of_the_model_with_submission_rules(modules):
    text = rendered(modules, "mailserver.postfix.config", "/etc/postfix/master.cf")
    services = {line.split()[0]: line for line in text.splitlines() if " inet " in line}
    assert set(services) == {"25", "587", "465"}
    submissions = text.split("\n465 ")[1].split("\npickup")[0]
    assert "-o smtpd_tls_wrappermode=yes" in submissions
    assert "-o smtpd_sasl_auth_enable=yes" in submissions
    assert "-o smtpd_sender_restrictions=reject_non_fqdn_sender,reject_sender_login_mismatch" in (
        submissions
    )
    assert "-o milter_macro_daemon_name=ORIGINATING" in submissions
    # postfwd's limits for authenticated users; Postgrey never for them
    assert "-o smtpd_end_of_data_restrictions=$mailserver_sending_limits" in submissions
    assert "10023" not in submissions
    smtp = text.split("\n25 ")[1].split("\n587 ")[0]
    assert "sasl_auth_enable=yes" not in smtp  # the MX never offers AUTH


def test_dovecot_conf_serves_the_model_s_ports_mailboxes_and_certificate(modules):
    text = rendered(modules, "mailserver.dovecot.config", "/etc/dovecot/dovecot.conf")
    assert "ssl_cert = </etc/mailserver/tls/fullchain.pem\n" in text
    assert "ssl_key = </etc/mailserver/tls/privkey.pem\n" in text
    assert "ssl = required\n" in text and "disable_plaintext_auth = yes\n" in text
    # the mail and the Sieve scripts in the store, the home (locks only) on tmpfs
    mailbox = "/mail/decrypted-mail/vhosts/%d/%n"
    assert "home=/run/dovecot-volatile/%d/%n" in text
    assert (
        f"mail_location = maildir:{mailbox}/Maildir:VOLATILEDIR=/run/dovecot-volatile/%d/%n\n"
    ) in text
    assert f"sieve = file:{mailbox}/sieve;active={mailbox}/.dovecot.sieve\n" in text
    assert "maildir_copy_with_hardlinks = no" in text  # EncFS paranoia: no hard links
    # the formula's Sieve: spam into Junk before the user's filters, learning from moves
    assert "sieve_before = /etc/dovecot/sieve/before.d\n" in text
    assert "imapsieve_mailbox1_name = Junk\n" in text
    assert "imapsieve_mailbox2_from = Junk\n" in text
    for port in ("port = 143", "port = 993", "port = 4190"):
        assert port in text
    assert "args = /etc/dovecot/dovecot-sql.conf.ext" in text
    assert "postmaster_address = postmaster@example.com" in text


def test_opendkim_conf_signs_for_submission_and_asks_the_hosts_resolver(modules):
    text = rendered(modules, "mailserver.dkim.config", "/etc/opendkim.conf")
    assert "Socket                  inet:8891@127.0.0.1\n" in text
    assert (
        "Mode                    sv\n" in text and "MTA                     ORIGINATING\n" in text
    )
    assert "KeyTable                file:/etc/opendkim/keys/../key.table" not in text
    assert "KeyTable                file:/etc/opendkim/key.table\n" in text
    assert "SigningTable            refile:/etc/opendkim/signing.table\n" in text
    assert "Nameservers             127.0.0.1,::1\n" in text
    assert "AuthservID              mx1.example.com\n" in text


def test_jails_read_the_journal_and_close_the_ports_of_the_model(modules):
    text = rendered(
        modules, "mailserver.fail2ban.config", "/etc/fail2ban/jail.d/90-mailserver.local"
    )
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
    assert rendered(modules, "mailserver.base.config", "/etc/mailname") == "example.com\n"


def test_the_mta_is_the_instance_postfix_runs_not_debians_wrapper(modules):
    """The bug: `service.running: postfix` checked Debian's wrapper, which is active while the
    MTA itself (postfix@-) failed its store condition."""
    ret = modules.state.show_sls("mailserver.postfix.service")
    running = ret["mailserver-postfix-service-running"]["service"]
    assert {"name": "postfix@-"} in running
    assert ret["mailserver-postfix-service-enabled"]["service"][0] == {"name": "postfix"}
    dropins = [c["name"] for c in low(modules, "mailserver.store.config") if c["state"] == "file"]
    assert "/etc/systemd/system/postfix@-.service.d/mailserver-store.conf" in dropins


def test_nothing_requires_the_resolver_but_its_own_states(modules):
    """Receiving mail and serving IMAP do not need outbound DNS: no state outside BIND's
    sub-state requires it (the bug: a resolver that could not answer at the first highstate
    kept Postfix from being configured)."""
    for chunk in low(modules, "mailserver"):
        if chunk["__sls__"].startswith("mailserver.bind"):
            continue
        for kind in ("require", "watch", "onchanges", "prereq"):
            for req in chunk.get(kind, []):
                target = str(next(iter(req.values())))
                assert "mailserver-bind" not in target and "mailserver.bind" not in target, (
                    f"{chunk['__id__']} {kind}s {req}"
                )


@pytest.mark.parametrize(
    ("pillar", "key", "reason"),
    [
        ({"hostname": "not a host name"}, "mailserver:hostname", "not a fully qualified"),
        ({"hostnme": "mx1.example.com"}, "mailserver:hostnme", "unknown key"),
        ({"base": ["x"]}, "mailserver:base", "must be a mapping"),
        ({"base": {"pkgs": "openssl"}}, "mailserver:base:pkgs", "must be list"),
        ({"mailname": "-bad-.example"}, "mailserver:mailname", "not a domain name"),
        ({"ports": {"smtp": True}}, "mailserver:ports:smtp", "must be int, not bool"),
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
    names = [
        "mx1.example.com",
        "mta-sts.example.com",
        "mta-sts.example.org",
        # what mail clients look up to set themselves up
        "autoconfig.example.com",
        "autodiscover.example.com",
        "autoconfig.example.org",
        "autodiscover.example.org",
        "mail.example.org",
    ]
    assert {"domains": names} in body
    ports = {
        r["dport"]
        for r in modules.mailserver_firewall.desired(model(modules, pillar["mailserver"]))
    }
    assert "80" in ports  # HTTP-01 validation


def test_the_web_server_serves_the_mta_sts_policy_on_https_only(modules):
    policy = rendered(
        modules,
        "mailserver.web.config",
        "/var/www/mailserver/mta-sts/.well-known/mta-sts.txt",
    )
    assert policy == "version: STSv1\nmode: testing\nmx: mx1.example.com\nmax_age: 604800\n"
    site = rendered(modules, "mailserver.web.config", "/etc/nginx/sites-available/mailserver")
    assert "server_name mta-sts.example.com mta-sts.example.org;" in site
    assert "listen 443 ssl http2 default_server;" in site and "listen 80" not in site


def test_an_authoritative_host_serves_signed_zones_and_opens_port_53(modules):
    pillar = {"mailserver": {"dns": {"authoritative": {"enabled": True, "reverse": False}}}}
    ret = modules.state.show_sls("mailserver.bind", pillar=pillar)
    assert isinstance(ret, dict), ret
    assert "mailserver-bind-zones-written" in ret
    local = rendered(modules, "mailserver.bind.config", "/etc/bind/named.conf.local", pillar)
    assert 'zone "example.com" {' in local and 'zone "example.org" {' in local
    authoritative = model(modules, pillar["mailserver"])
    rules = {(r["proto"], r["dport"]) for r in modules.mailserver_firewall.desired(authoritative)}
    assert {("udp", "53"), ("tcp", "53")} <= rules
    # a resolver only: no zones, nothing opened
    ret = modules.state.show_sls("mailserver.bind")
    assert "mailserver-bind-zones-written" not in ret
    assert "53" not in {r["dport"] for r in modules.mailserver_firewall.desired(model(modules))}


def test_with_acme_the_zones_come_before_the_ca_and_again_after_a_new_certificate(modules):
    dns = {"authoritative": {"enabled": True}}
    pillar = {"mailserver": {"dns": dns, "tls": {"acme": {"enabled": True}}}}
    ret = modules.state.show_sls("mailserver", pillar=pillar)
    assert isinstance(ret, dict), ret
    zones = ret["mailserver-bind-zones-written"]["mailserver_bind"]
    require_in = next(a["require_in"] for a in zones if "require_in" in a)
    assert {"mailserver_acme": "mailserver-tls-acme-certificate"} in require_in
    again = ret["mailserver-bind-zones-written-certificate"]["mailserver_bind"]
    onchanges = next(a["onchanges"] for a in again if "onchanges" in a)
    assert onchanges == [{"mailserver_acme": "mailserver-tls-acme-certificate"}]


def salt_call_local(tmp_path, pillar_root, *args, env=None):
    """``salt-call --local ARGS`` with the formula's file roots and ``pillar_root``, in a
    scratch minion configuration; the completed process."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "minion").write_text(
        f"id: mx1\nfile_client: local\nroot_dir: {tmp_path / 'root'}\n"
        f"file_roots: {{base: [{REPO / 'salt'}]}}\npillar_roots: {{base: [{pillar_root}]}}\n"
        f"module_dirs: [{REPO}]\n"
    )
    salt_call = str(Path(sys.executable).with_name("salt-call"))
    return subprocess.run(
        [salt_call, "-c", str(conf), "--local", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_a_minion_without_the_formulas_libraries_is_told_what_to_install(tmp_path):
    """The bug: the first render failed with `Jinja error: 'mailserver_accounts.validate'`.
    Here passlib cannot be imported by Salt's Python; the render names it and the command."""
    shadow = tmp_path / "shadow" / "passlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('passlib is not installed here')\n")
    proc = salt_call_local(
        tmp_path, REPO / "pillar", "state.show_sls", "mailserver.base",
        env={"PYTHONPATH": str(tmp_path / "shadow")},
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "lacks passlib" in out, out[-3000:]
    assert "salt-pip install passlib pymysql dnspython" in out


def test_the_highstate_renders_with_pillar_example(tmp_path):
    """pillar.example is a pillar that works: the whole highstate renders with it alone."""
    pillar = tmp_path / "pillar"
    pillar.mkdir()
    (pillar / "top.sls").write_text("base:\n  '*':\n    - mailserver\n")
    (pillar / "mailserver.sls").write_text((REPO / "pillar.example").read_text())
    proc = salt_call_local(tmp_path, pillar, "state.show_sls", "mailserver", "--out=json")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    states = json.loads(proc.stdout)["local"]
    assert isinstance(states, dict) and len(states) > 80, states
    assert "mailserver-accounts-synced" in states


def test_the_webmail_talks_tls_to_the_hosts_services_and_keeps_its_data_in_the_store(modules):
    conf = rendered(modules, "mailserver.webmail.config", "/etc/roundcube/config.inc.php")
    assert "$config['db_dsnw'] = 'sqlite:////mail/decrypted-mail/roundcube/roundcube.db" in conf
    assert "$config['imap_host'] = 'ssl://127.0.0.1:993';" in conf
    assert "$config['smtp_host'] = 'ssl://127.0.0.1:465';" in conf
    assert "$config['managesieve_host'] = 'tls://127.0.0.1:4190';" in conf
    # the certificate's name is checked, against the self-signed certificate itself
    assert "'verify_peer' => true," in conf and "'peer_name' => 'mx1.example.com'," in conf
    assert "'cafile' => '/etc/mailserver/tls/fullchain.pem'," in conf
    assert "include '/etc/roundcube/mailserver-secret.inc.php';" in conf
    assert "des_key'] =" not in conf  # made on the host, never in a template
    pool = rendered(modules, "mailserver.webmail.config", "/etc/php/8.2/fpm/pool.d/roundcube.conf")
    assert "user = roundcube" in pool and "php_admin_flag[expose_php] = off" in pool
    basedir = next(line for line in pool.splitlines() if "[open_basedir]" in line)
    assert ":/mail/decrypted-mail/roundcube:" in basedir and "/etc/mailserver/tls/:" not in basedir
    # uploads fit into Postfix's size limit once base64 makes them a third larger
    upload = int(pool.split("upload_max_filesize] = ")[1].split()[0])
    assert upload * 4 / 3 < 52428800


def test_the_site_serves_the_webmail_s_entry_point_only_and_a_maintenance_page(modules):
    site = rendered(modules, "mailserver.web.config", "/etc/nginx/sites-available/mailserver")
    server = next(b for b in site.split("\nserver {") if "server_name mx1.example.com;" in b)
    assert "fastcgi_pass unix:/run/php/roundcube.sock;" in server
    assert server.count("fastcgi_pass") == 1 and "location = /index.php {" in server
    assert "error_page 502 503 504 =503 /maintenance.html;" in server
    assert "add_header Content-Security-Policy \"default-src 'self';" in server
    assert "frame-ancestors 'self'\" always;" in server
    clients = next(b for b in site.split("\nserver {") if "autoconfig.example.com" in b)
    assert "server_name autoconfig.example.com autodiscover.example.com" in clients
    # off: no webmail, no client files
    off = {"mailserver": {"webmail": {"enabled": False}, "autoconfig": {"enabled": False}}}
    site = rendered(modules, "mailserver.web.config", "/etc/nginx/sites-available/mailserver", off)
    assert "fastcgi" not in site and "autoconfig" not in site


BACKUP_ON = {
    "mailserver": {
        "backup": {
            "enabled": True,
            "repository": "ssh://borg@backup.example.net/srv/borg/mx1",
            "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJWUMTS/syQoodXVC6DuUNMnn",
        }
    }
}


def test_borgmatic_backs_up_the_ciphertext_and_keeps_every_secret_in_files(modules):
    text = rendered(modules, "mailserver.backup.config", "/etc/borgmatic/config.yaml", BACKUP_ON)
    conf = yaml.safe_load(text)
    location, storage = conf["location"], conf["storage"]
    assert location["repositories"] == ["ssh://borg@backup.example.net/srv/borg/mx1"]
    assert "/mail/encrypted-mail" in location["source_directories"]
    assert location["exclude_patterns"] == ["/mail/decrypted-mail", "/etc/mailserver/backup"]
    assert storage["encryption_passcommand"] == "cat /etc/mailserver/backup/passphrase"
    assert "encryption_passphrase" not in storage
    assert "StrictHostKeyChecking=yes" in storage["ssh_command"]
    assert "UserKnownHostsFile=/etc/mailserver/backup/known_hosts" in storage["ssh_command"]
    assert conf["hooks"]["mysql_databases"] == [
        {"name": "mailserver", "options": "--single-transaction"}
    ]
    assert conf["retention"] == {
        "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12, "prefix": "{hostname}-"
    }  # fmt: skip
    known = rendered(
        modules, "mailserver.backup.config", "/etc/mailserver/backup/known_hosts", BACKUP_ON
    )
    assert known == "backup.example.net " + BACKUP_ON["mailserver"]["backup"]["host_key"] + "\n"


def test_backups_off_install_nothing(modules):
    ours = [c["__id__"] for c in low(modules, "mailserver.backup") if "backup" in c["__sls__"]]
    assert ours == ["mailserver-backup-service-timer-dead"]


def test_a_backup_mx_relays_to_the_primary_and_waits_for_its_certificate(modules):
    hosts = {
        "mx0.example.com": {"roles": ["primary"], "ipv4": ["198.51.100.9"]},
        "mx1.example.com": {"roles": ["backup_mx"]},
    }
    pillar = {"mailserver": {"cluster": {"hosts": hosts}}}
    main_cf = rendered(modules, "mailserver.postfix.config", "/etc/postfix/main.cf", pillar)
    assert "relay_transport = smtp:[mx0.example.com]:25\n" in main_cf
    assert "virtual_mailbox_domains =\n" in main_cf  # nothing delivered here
    # the primary has published no certificate in the mine: the run says so, by name
    ids = {c["__id__"]: c for c in low(modules, "mailserver.postfix.config", pillar)}
    fail = ids["mailserver-postfix-config-test-fail-without-changes-cluster-primary"]
    assert "the primary, mx0.example.com, has published no certificate" in fail["comment"]


def test_the_store_s_services_stop_before_the_store_is_unmounted(modules):
    """The bug: a reboot unmounted the store while Dovecot was still saving a delivery;
    LMTP answered 451 after the message was written, and Postfix's retry delivered it twice.
    Each service is ordered after the store's mount unit, so a shutdown stops it first."""
    for unit in ("dovecot.service", "postfix@-.service"):
        path = f"/etc/systemd/system/{unit}.d/mailserver-store.conf"
        text = rendered(modules, "mailserver.store.config", path)
        assert "After=mail-decrypted\\x2dmail.mount\n" in text, text
        assert "ConditionPathIsMountPoint=/mail/decrypted-mail\n" in text


def test_a_replica_pair_replicates_over_tls_and_waits_for_its_secret_and_partner(modules):
    hosts = {
        "mx1.example.com": {"roles": ["primary"]},
        "mx2.example.com": {"roles": ["replica"], "ipv4": ["198.51.100.11"]},
    }
    pillar = {"mailserver": {"cluster": {"hosts": hosts}}}
    conf = rendered(modules, "mailserver.dovecot.config", "/etc/dovecot/dovecot.conf", pillar)
    assert "mail_plugins = $mail_plugins quota notify replication" in conf
    assert "mail_replica = tcps:mx2.example.com:12345" in conf
    assert "!include_try /etc/dovecot/private/replication.conf" in conf
    # no certificate of the partner in the mine yet: the system's CAs alone verify it
    assert "ssl_client_ca_dir = /etc/ssl/certs\n" in conf
    assert "ssl_client_ca_file" not in conf
    # no secret yet: the run says what to do
    ids = {c["__id__"]: c for c in low(modules, "mailserver.dovecot.config", pillar)}
    assert ids["mailserver-dovecot-config-file-replication-ca"]["fun"] == "absent"
    secret = ids["mailserver-dovecot-config-test-fail-without-changes-replication-secret"]
    assert "salt-run mailserver.pair_replica" in secret["comment"]
    dropin = ids["mailserver-dovecot-config-file-replication-dropin"]
    assert dropin["fun"] == "managed"  # the catch-up after each start
    # without a replica: none of it, and what an earlier partner left goes
    plain = rendered(modules, "mailserver.dovecot.config", "/etc/dovecot/dovecot.conf")
    assert "replication" not in plain and "mail_replica" not in plain
    ids = {c["__id__"]: c for c in low(modules, "mailserver.dovecot.config")}
    for what in ("ca", "dropin"):
        assert ids[f"mailserver-dovecot-config-file-replication-{what}"]["fun"] == "absent"


def test_the_sieve_scripts_are_compiled_with_the_formula_s_dovecot_configuration(modules):
    """The bug: on a fresh host sievec compiled against Debian's default configuration,
    which loads neither imapsieve nor extprograms (it ran before dovecot.conf was written,
    and asked the running Dovecot, which knew only its old one): the learning scripts failed
    to compile at the first highstate, and never again (onchanges)."""
    for chunk in low(modules, "mailserver.dovecot.config"):
        if chunk["__id__"] == "mailserver-dovecot-config-cmd-run-sievec":
            assert {"file": "mailserver-dovecot-config-file-managed"} in chunk["require"], chunk
            # the file itself, not a running Dovecot's configuration of before
            assert chunk["name"].startswith("sievec -c /etc/dovecot/dovecot.conf "), chunk
