"""Spam filtering, greylisting and sending limits, in the lab, from the peer over IPv4 and
IPv6: rspamd refuses GTUBE and files spam-like mail into Junk, learns from moves into and out
of Junk over IMAP, Postgrey holds a new sender's first attempt, postfwd tells a user who
sends too much to wait and locks an account past a hard limit (the admin told through the
master), and mail waits while rspamd is down."""

from __future__ import annotations

import random

import pytest

from lab import config
from lab.until import until
from tests.system.mailclients import (
    DEFAULTS,
    FAMILIES,
    PASSWORDS,
    PORTS,
    imap,
    inbox,
    peer_sends,
    submit,
    tag,
)

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# rspamd's test pattern for its "add header" action (on in the lab's pillar: test_patterns)
GTUBE_ADD_HEADER = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# a body long enough for rspamd's Bayes to learn from (it skips messages of few tokens)
PROSE = (
    "Dear colleague, the quarterly figures for the northern warehouse are attached as "
    "promised. Shipping volumes rose in every month, returns fell, and the new conveyor "
    "saved about four hours of manual sorting each week. Please review the numbers before "
    "Thursday's meeting so we can agree on the budget for the spring season and the hiring "
    "plan for the loading dock."
)
# the peer's addresses that Postgrey does not know (the lab's pillar whitelists its main
# ones); added for this module and removed after it
STRANGER = dict(zip(("ipv4", "ipv6"), config.address(21), strict=True))
PEER = config.HOSTS["peer"]
MX1 = config.HOSTS["mx1"]


@pytest.fixture(scope="module")
def spam(mail):
    # secondary (IPv4) and deprecated (IPv6): used only when a probe binds to them, never
    # chosen as the source of the peer's other connections
    for family, ip in STRANGER.items():
        prefix = "24" if family == "ipv4" else "64 nodad preferred_lft 0"
        mail.sh("peer", f"ip addr replace {ip}/{prefix} dev eth0")
    yield mail
    for family, ip in STRANGER.items():
        prefix = "24" if family == "ipv4" else "64"
        mail.sh("peer", f"ip addr del {ip}/{prefix} dev eth0", check=False)


def smtp25(lab, to, subject, addr, body="lab probe", source=None, mail_from=None) -> dict:
    """One SMTP session from the peer to port 25, from ``source`` when given."""
    args = [
        "--host", addr, "--port", str(PORTS["smtp"]), "--starttls",
        "--helo", PEER.fqdn, "--mail-from", mail_from or f"{tag('sender')}@example.net",
        "--subject", subject, "--body", body,
    ]  # fmt: skip
    for rcpt in to:
        args += ["--to", rcpt]
    if source:
        args += ["--source", source]
    return lab.probe("smtp", *args)


def stats(lab) -> dict:
    return lab.salt_json("mx1", "mailserver_spam.stats")["mx1"]


def test_gtube_is_refused_at_the_end_of_data(spam, addr):
    ret = smtp25(spam, ["alice@example.com"], tag("gtube"), addr, body=GTUBE)
    assert not ret["ok"] and ret["stage"] == "data", ret
    assert ret["code"] == 554 and "5.7.1" in ret["error"], ret


def test_spam_like_mail_is_filed_into_junk_and_plain_mail_into_inbox(spam, addr):
    junk, plain = tag("junk"), tag("plain")
    assert smtp25(spam, ["bob@example.com"], junk, addr, body=GTUBE_ADD_HEADER)["ok"]
    assert smtp25(spam, ["bob@example.com"], plain, addr, body=PROSE)["ok"]
    filed = inbox(spam, "bob@example.com", junk, folder="Junk", addr=addr)
    assert filed and "X-Spam: Yes" in filed[0]["headers"]
    assert inbox(spam, "bob@example.com", plain, addr=addr)
    assert inbox(spam, "bob@example.com", junk, timeout=0) == []
    assert inbox(spam, "bob@example.com", plain, folder="Junk", timeout=0) == []


def prose(seed: str) -> str:
    """PROSE's words in an order of their own: rspamd learns each message once, and tells
    messages apart by their words, not by a tag in them."""
    words = PROSE.split()
    return " ".join(random.Random(seed).sample(words, len(words)))


def test_moving_mail_into_and_out_of_junk_teaches_rspamd(spam):
    """Into Junk over IMAP on IPv4, out of it on IPv6 (rspamd refreshes the counts it shows
    from Redis every few seconds: one wait for each)."""
    subject = tag("learn")
    assert smtp25(spam, ["carol@example.org"], subject, MX1.ip4, body=prose(subject))["ok"]
    assert inbox(spam, "carol@example.org", subject)
    before = stats(spam)

    def move(src, dst, addr):
        ret = imap(
            spam, "carol@example.org", PASSWORDS["carol@example.org"], addr,
            folder=src, subject=subject, move_to=dst,
        )  # fmt: skip
        assert ret["ok"] and ret["moved"] == 1, ret

    move("INBOX", "Junk", FAMILIES["ipv4"])
    until(
        lambda: stats(spam)["spam_learned"] > before["spam_learned"],
        what="rspamd to count a learned spam",
        timeout=120,
        interval=2,
    )
    move("Junk", "INBOX", FAMILIES["ipv6"])
    until(
        lambda: stats(spam)["ham_learned"] > before["ham_learned"],
        what="rspamd to count a learned ham",
        timeout=120,
        interval=2,
    )


def test_a_short_message_moved_into_junk_is_learned_without_an_error(spam):
    """Too little text for a fuzzy hash (rspamd answers 404 to fuzzy_add): Bayes still
    learns it, and the learning script does not fail (it used to, leaving an error in
    Dovecot's log for every short message a user called junk)."""
    since = spam.sh("mx1", "date +%s").stdout.strip()
    subject = tag("short")
    body = f"Cheap watches {subject} {tag('w')} buy now"
    assert smtp25(spam, ["carol@example.org"], subject, MX1.ip4, body=body)["ok"]
    assert inbox(spam, "carol@example.org", subject)
    before = stats(spam)["learned"]
    ret = imap(
        spam, "carol@example.org", PASSWORDS["carol@example.org"], MX1.ip4,
        folder="INBOX", subject=subject, move_to="Junk",
    )  # fmt: skip
    assert ret["ok"] and ret["moved"] == 1, ret
    until(lambda: stats(spam)["learned"] > before, "rspamd to learn it", 120, interval=2)
    log = spam.sh("mx1", f"journalctl -u dovecot --since @{since} --no-pager").stdout
    assert "rspamd-learn" not in log, log[-2000:]


def test_a_new_sender_is_greylisted_and_its_retry_accepted(spam, addr):
    family = next(f for f, a in FAMILIES.items() if a == addr)
    subject, sender = tag("grey"), f"{tag('grey')}@example.net"
    first = smtp25(
        spam, ["alice@example.com"], subject, addr, source=STRANGER[family], mail_from=sender
    )
    assert not first["ok"] and first["stage"] == "rcpt", first
    assert first["code"] == 450 and "Greylisted" in first["error"], first

    # the shortened delay of the lab's pillar (2 s): the retry, as a real MTA's, gets in
    def retried():
        ret = smtp25(
            spam, ["alice@example.com"], subject, addr, source=STRANGER[family], mail_from=sender
        )
        return ret if ret["ok"] else None

    retry = until(retried, "the greylisted sender's retry to be accepted", 60, interval=2)
    assert retry["code"] == 250
    assert inbox(spam, "alice@example.com", subject, addr=addr)


def test_whitelisted_clients_and_authenticated_users_are_never_greylisted(spam, addr):
    family = next(f for f, a in FAMILIES.items() if a == addr)
    # the peer's main address is in postgrey:whitelist_clients
    whitelisted = smtp25(spam, ["alice@example.com"], tag("white"), addr)
    assert whitelisted["ok"], whitelisted
    # a user submitting from an address Postgrey has never seen
    ret = spam.probe(
        "smtp", "--host", addr, "--port", str(PORTS["submission"]), "--starttls",
        "--user", "bob@example.com", "--mail-from", "bob@example.com",
        "--to", "alice@example.com", "--subject", tag("authgrey"),
        "--source", STRANGER[family],
        password=PASSWORDS["bob@example.com"],
    )  # fmt: skip
    assert ret["ok"], ret


def test_the_greylist_triplets_stay_inside_the_encrypted_store(spam):
    sender = f"{tag('triplet')}@example.net"
    ret = smtp25(
        spam, ["alice@example.com"], tag("t"), MX1.ip4, source=STRANGER["ipv4"], mail_from=sender
    )
    assert ret["code"] == 450, ret
    store = DEFAULTS["store"]
    inside = spam.sh("mx1", f"grep -rlaF '{sender}' {store['mount_point']}/postgrey", check=False)
    assert inside.stdout.strip(), "the triplet should be in the unlocked store"
    raw = spam.sh("mx1", f"grep -rlaF '{sender}' {store['cipher_dir']} /var/lib", check=False)
    assert raw.stdout == "", f"a greylist triplet in clear outside the store: {raw.stdout}"
    # and what rspamd learned: Redis's data file is inside the store, its keys unreadable
    # in the cipher directory
    spam.sh("mx1", "REDISCLI_AUTH=$(cat /etc/mailserver/redis.secret) redis-cli SAVE")
    assert spam.sh("mx1", f"grep -laF learns_ {store['mount_point']}/redis/dump.rdb").stdout
    raw = spam.sh("mx1", f"grep -rlaF learns_ {store['cipher_dir']} /var/lib", check=False)
    assert raw.stdout == "", raw.stdout


def test_mail_waits_while_rspamd_is_down_and_arrives_after(spam):
    spam.sh("mx1", "systemctl stop rspamd")
    try:
        subject = tag("norspamd")
        ret = smtp25(spam, ["alice@example.com"], subject, MX1.ip4)
        assert not ret["ok"] and 400 <= (ret["code"] or 0) < 500, ret  # wait, never refused
        peer_sends(spam, "alice@example.com", subject)
        until(
            lambda: "alice@example.com" in spam.sh("peer", "postqueue -p").stdout,
            what="the peer's MTA to keep the message queued",
        )
    finally:
        spam.sh("mx1", "systemctl start rspamd")
    # back once it scans again: a sender's next attempt gets in
    until(
        lambda: smtp25(spam, ["alice@example.com"], tag("rspamdback"), MX1.ip4)["ok"],
        what="rspamd to scan again (mail accepted)",
        timeout=120,
        interval=2,
    )
    spam.sh("peer", "postqueue -f")
    assert inbox(spam, "alice@example.com", subject, timeout=90)


@pytest.fixture
def low_limits(spam):
    """The lab's pillar with sending limits a test reaches in a few messages (carol's
    counters start afresh); back to the example pillar afterwards."""
    pillar = spam.read_pillar()
    pillar["postfwd"] = {
        "messages_per_hour": 2,
        "hard_messages_per_hour": 4,
        "recipients_per_day": 50,
        "hard_recipients_per_day": 100,
    }
    spam.write_pillar(pillar)
    rc, data = spam.apply("mx1", "mailserver.postfwd")
    assert rc == 0, data
    restarted = [
        v for v in data["mx1"].values() if v["__id__"] == "mailserver-postfwd-service-running"
    ]
    assert restarted[0]["changes"], "postfwd was not restarted with the new limits"
    spam.salt("mx1", "mailserver_accounts.unlock_user", "carol@example.org")
    yield spam
    spam.salt("mx1", "mailserver_accounts.unlock_user", "carol@example.org")
    spam.reset_pillar()
    rc, data = spam.apply("mx1", "mailserver.postfwd")
    assert rc == 0, data


def test_a_user_past_the_limits_waits_then_is_locked_and_the_admin_told(low_limits):
    lab, user = low_limits, "carol@example.org"

    def notices() -> str:
        grep = f"grep -c '{user} on mx1 is LOCKED' /var/mail/sink"
        return lab.sh("peer", grep, check=False).stdout.strip()

    before = notices()
    families = sorted(FAMILIES.values())
    replies = []
    for i in range(8):  # bounded: the hard limit is 4 messages an hour
        ret = submit(lab, user, ["alice@example.com"], tag(f"limit{i}"), addr=families[i % 2])
        replies.append(ret)
        if "the account is locked" in ret.get("error", ""):
            break
    assert [r["ok"] for r in replies[:2]] == [True, True], replies
    # past the soft limit: wait (4xx at the end of DATA), the mail stays with the client
    assert replies[2]["code"] == 450 and replies[2]["stage"] == "data", replies[2]
    assert "try again later" in replies[2]["error"]
    assert not any(r["ok"] for r in replies[2:]), replies
    # past the hard limit: told so, and the account is locked: its logins refused
    assert len(replies) == 5 and replies[-1]["code"] == 450, replies[-1]

    def login(addr):
        return lab.probe(
            "smtp", "--host", addr, "--port", str(PORTS["submission"]), "--starttls",
            "--user", user, password=PASSWORDS[user],
        )  # fmt: skip

    def refused_login():
        ret = login(families[0])
        return ret if not ret["ok"] and ret["stage"] == "auth" else None

    refused = until(
        refused_login,
        what="SMTP AUTH to refuse the locked mailbox",
        timeout=60,
    )
    assert refused["code"] == 535, refused
    assert login(families[1])["code"] == 535
    locked = lab.salt_json("mx1", "mailserver_accounts.locked")["mx1"]
    assert "sending limit" in locked[user]["reason"]
    for addr in families:
        assert not imap(lab, user, PASSWORDS[user], addr)["ok"]
    # a highstate keeps the lock: pillar says which mailboxes exist, not who may log in
    rc, _ = lab.apply("mx1", "mailserver.accounts")
    assert rc == 0 and user in lab.salt_json("mx1", "mailserver_accounts.locked")["mx1"]
    # the admin was told through the master (its reactor mailed the lab's relay)
    until(
        lambda: notices() != before,
        what="the admin's notification of the locked mailbox",
        timeout=90,
    )
    notice = lab.sh("peer", "cat /var/mail/sink").stdout
    assert f"salt mx1 mailserver_accounts.unlock_user {user}" in notice
    # other users are not affected
    assert submit(lab, "alice@example.com", ["bob@example.com"], tag("other"))["ok"]
    assert imap(lab, "alice@example.com", PASSWORDS["alice@example.com"])["ok"]

    # unlocked by the admin: logins work and the counters start afresh
    lab.salt("mx1", "mailserver_accounts.unlock_user", user)
    assert lab.salt_json("mx1", "mailserver_accounts.locked")["mx1"] == {}
    for addr in families:
        assert imap(lab, user, PASSWORDS[user], addr)["ok"]
        assert submit(lab, user, ["alice@example.com"], tag("again"), addr=addr)["ok"]


def test_redis_and_rspamd_listen_on_the_loopback_with_a_password_made_on_the_host(spam):
    secret = spam.sh("mx1", f"cat {DEFAULTS['redis']['secret_file']}").stdout.strip()
    assert len(secret) >= 32
    modes = spam.sh(
        "mx1",
        f"stat -c '%n %U:%G %a' {DEFAULTS['redis']['secret_file']} "
        f"{DEFAULTS['redis']['config_file']} {DEFAULTS['rspamd']['local_dir']}/redis.conf",
    ).stdout.split("\n")
    assert modes[:3] == [
        f"{DEFAULTS['redis']['secret_file']} root:root 600",
        f"{DEFAULTS['redis']['config_file']} root:redis 640",
        f"{DEFAULTS['rspamd']['local_dir']}/redis.conf root:_rspamd 640",
    ]
    # Redis refuses a client without the password
    denied = spam.sh("mx1", "redis-cli -h 127.0.0.1 DBSIZE", check=False).stdout
    assert "NOAUTH" in denied
    # nothing of theirs listens beyond the loopback
    ports = [DEFAULTS["redis"]["port"]] + [
        v for k, v in DEFAULTS["rspamd"].items() if k.endswith("_port")
    ]
    listening = [line.split()[4] for line in spam.sh("mx1", "ss -Hltun").stdout.splitlines()]
    for port in ports:
        local = [address for address in listening if address.endswith(f":{port}")]
        assert local and all(a.startswith(("127.0.0.1:", "[::1]:")) for a in local), local
    # the password is in no log, no job return, no cache, on mx1 or the master
    assert spam.files_holding(secret) == ("", "")


def test_rspamd_s_web_interface_only_over_https_and_only_with_its_password(spam):
    pillar = spam.read_pillar()
    pillar["rspamd"] = {**pillar.get("rspamd", {}), "web_ui": True}
    spam.write_pillar(pillar)
    try:
        rc, data = spam.apply("mx1", "mailserver.web,mailserver.redis")
        assert rc == 0, data
        secret_file = DEFAULTS["rspamd"]["web_secret_file"]
        password = spam.sh("mx1", f"cat {secret_file}").stdout.strip()
        assert len(password) >= 32
        for family, ip in FAMILIES.items():
            host = f"[{ip}]" if family == "ipv6" else ip

            def get(path, auth=None, scheme="https", port=PORTS["https"], host=host):
                # the password goes to curl on its standard input, never in its arguments
                config = f'user = "rspamd:{auth}"\n' if auth else ""
                return spam.sh(
                    "peer",
                    f"curl -sk -K - -o /dev/null -w '%{{http_code}}' --max-time 20 "
                    f"--resolve {MX1.fqdn}:{port}:{host.strip('[]')} "
                    f"{scheme}://{MX1.fqdn}:{port}{path}",
                    input=config,
                    check=False,
                ).stdout

            assert get("/rspamd/") == "401"
            assert get("/rspamd/", auth="not the password") == "401"
            assert get("/rspamd/", auth=password) == "200"
            assert get("/rspamd/stat", auth=password) == "200"  # the controller behind it
            assert get("/rspamd/", auth=password, scheme="http", port=80) != "200"
        # the password is in no log, no job return, no cache
        assert spam.files_holding(password) == ("", "")
    finally:
        spam.reset_pillar()
        rc, data = spam.apply("mx1", "mailserver.web,mailserver.redis")
        assert rc == 0, data
    assert "rspamd" not in spam.sh("mx1", f"cat {DEFAULTS['web']['config_file']}").stdout
