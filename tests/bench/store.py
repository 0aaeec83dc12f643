"""Benchmark body, run inside mx1 by Debian's Python (see tests/bench/run.py): the encrypted
store's backends, and body search with and without the full-text index.

One Dovecot instance of its own (``dovecot -c``, beside the formula's, sharing nothing with
it but the binaries) with the formula's mail settings (Maildir, index files read without
mmap, lock files on tmpfs, no hard links), three users whose mailboxes live on EncFS in
paranoia mode, on gocryptfs and on plain disk, each mounted as the formula mounts it. The
same load goes to each in turn:

- delivery: LMTP from ``CONNECTIONS`` connections for ``SECONDS`` seconds, messages of
  about 3.5 KB; the figure is messages delivered per second;
- reading: ``CLIENTS`` IMAP clients at once, each session a login, SELECT, FETCH of the
  newest 200 messages' headers (a client's first screen) and 20 bodies, LOGOUT, repeated;
  p50 and p99 of the session's time;
- search (EncFS, the default backend): a mailbox of ``MESSAGES`` generated messages,
  ``SEARCH BODY`` and ``SEARCH TEXT`` for a word of one message, without the index and
  with Dovecot's fts-xapian (``fts_autoindex`` off here: the index is built once with
  ``doveadm index``, timed).

Arguments: SECONDS CLIENTS MESSAGES. Prints JSON.
"""

import concurrent.futures
import grp
import imaplib
import json
import os
import pwd
import random
import secrets
import shutil
import signal
import smtplib
import statistics
import string
import subprocess
import sys
import time

ROOT = "/var/lib/mailserver-bench"
RUN = "/run/dovecot-bench"
CONF = f"{ROOT}/dovecot.conf"
# lock files on tmpfs, as the formula keeps them
VOLATILE = "/run/dovecot-bench-volatile"
IMAP_PORT = 10143
CONNECTIONS = 4
PASSWORD = secrets.token_urlsafe(12)
BACKENDS = ("plain", "encfs", "gocryptfs")

CONFIG = """\
base_dir = {run}
state_dir = {root}/state
instance_name = dovecot-bench
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
log_path = {root}/dovecot.log
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = passwd-file
  args = {root}/users
}}
mail_location = maildir:~/Maildir:VOLATILEDIR={volatile}/%u
mail_uid = vmail
mail_gid = vmail
first_valid_uid = 1
mmap_disable = yes
maildir_copy_with_hardlinks = no
mail_plugins = $mail_plugins {plugins}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_min_avail = 4
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service imap {{
  process_limit = 1024
}}
service indexer-worker {{
  vsz_limit = 1G
}}
protocol imap {{
  mail_max_userip_connections = 1000
}}
plugin {{
  fts = xapian
  fts_xapian = partial=3 full=20 verbose=0
  fts_autoindex = no
  fts_enforced = yes
}}
"""


def sh(*argv, stdin=None, check=True):
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} {argv[1]} exited {proc.returncode}: {proc.stderr[-500:]}")
    return proc


def mount(backend, passphrase):
    """The backend's mount point, mounted as the formula mounts it (mailserver_store)."""
    base = f"{ROOT}/{backend}"
    cipher, mnt = f"{base}/cipher", f"{base}/mnt"
    os.makedirs(cipher, mode=0o700)
    os.makedirs(mnt, mode=0o700)
    if backend == "encfs":
        sh("encfs", "--paranoia", "--stdinpass", "--public", cipher, mnt, stdin=passphrase + "\n")
    elif backend == "gocryptfs":
        sh("gocryptfs", "-init", "-q", "-passfile", "/dev/stdin", cipher, stdin=passphrase)
        sh(
            "gocryptfs",
            "-q",
            "-allow_other",
            "-passfile",
            "/dev/stdin",
            cipher,
            mnt,
            stdin=passphrase,
        )
    else:
        mnt = cipher
    vmail = pwd.getpwnam("vmail")
    os.chown(mnt, vmail.pw_uid, vmail.pw_gid)
    return mnt


def unmount_all():
    for backend in ("encfs", "gocryptfs"):
        if os.path.ismount(f"{ROOT}/{backend}/mnt"):
            sh("umount", f"{ROOT}/{backend}/mnt", check=False)


def tree_bytes(top, prefix=""):
    """The bytes of the files under TOP, in directories whose name starts with PREFIX."""
    total = 0
    for root, _, files in os.walk(top):
        if os.path.basename(root).startswith(prefix) or prefix in root:
            total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def stop_dovecot():
    try:
        with open(f"{RUN}/master.pid") as fh:
            os.kill(int(fh.read()), signal.SIGTERM)
    except (OSError, ValueError):
        return
    for _ in range(100):
        if not os.path.exists(f"{RUN}/master.pid"):
            return
        time.sleep(0.1)


def dovecot(fts):
    stop_dovecot()
    with open(CONF, "w") as fh:
        fh.write(
            CONFIG.format(
                run=RUN,
                root=ROOT,
                volatile=VOLATILE,
                port=IMAP_PORT,
                plugins="fts fts_xapian" if fts else "",
            )
        )
    # the daemon keeps its standard streams: not pipes, or reading them would never end
    subprocess.run(
        ["dovecot", "-c", CONF],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    for _ in range(100):
        try:
            imaplib.IMAP4("127.0.0.1", IMAP_PORT, timeout=120).logout()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the benchmark's Dovecot did not start")


_RND = random.Random(1)
WORDS = [
    "".join(_RND.choice(string.ascii_lowercase) for _ in range(3 + i % 7)) for i in range(5000)
]


def message(i, rnd, to):
    """A message of about 3.5 KB: 40 lines of common words, and one word of its own (what a
    user searches for: a name, an order number)."""
    lines = [" ".join(rnd.choice(WORDS) for _ in range(12)) for _ in range(40)]
    lines[20] += f" order{i:06d}x"
    body = "\r\n".join(lines)
    return (
        f"From: sender{i}@example.net\r\nTo: {to}\r\nSubject: bench {i:05d}\r\n"
        f"Message-ID: <bench{i}.{rnd.random()}@example.net>\r\n"
        f"Date: Wed, 02 Dec 2026 12:00:00 +0000\r\n\r\n{body}\r\n"
    )


def deliver(user, seconds):
    """LMTP from CONNECTIONS connections for SECONDS: (delivered, the refusals' replies,
    seconds). A refused message (the server's temporary error) is counted with the server's
    reply, and the connection goes on."""
    stop = time.monotonic() + seconds

    def worker(n):
        rnd, sent, refused = random.Random(n), 0, []
        lmtp = smtplib.LMTP(f"{RUN}/lmtp", timeout=60)
        while time.monotonic() < stop:
            try:
                lmtp.sendmail("bench@example.net", [user], message(sent, rnd, user))
                sent += 1
            except smtplib.SMTPResponseException as exc:
                refused.append(f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}")
                lmtp.rset()
            except smtplib.SMTPRecipientsRefused as exc:
                refused.extend(f"{code} {text.decode(errors='replace')}"
                               for code, text in exc.recipients.values())  # fmt: skip
                lmtp.rset()
        lmtp.quit()
        return sent, refused

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CONNECTIONS) as pool:
        counts = list(pool.map(worker, range(CONNECTIONS)))
    took = time.monotonic() - start
    return sum(c[0] for c in counts), [r for c in counts for r in c[1]], took


def stored(mnt, user):
    """The messages in the user's INBOX on disk (Maildir's new/ and cur/)."""
    top = f"{mnt}/{user}/Maildir"
    return sum(
        len(os.listdir(f"{top}/{sub}")) for sub in ("new", "cur") if os.path.isdir(f"{top}/{sub}")
    )


def sessions(user, clients, seconds):
    """CLIENTS IMAP sessions at once, repeated for SECONDS: each good session's time, and
    how many failed (an IMAP error: the session ends there)."""
    stop = time.monotonic() + seconds
    times, failed = [], []

    def client(_):
        while time.monotonic() < stop:
            start = time.monotonic()
            imap = imaplib.IMAP4("127.0.0.1", IMAP_PORT, timeout=120)
            try:
                imap.login(user, PASSWORD)
                _, [count] = imap.select("INBOX", readonly=True)
                last = int(count)
                imap.fetch(f"{max(1, last - 199)}:{last}", "(UID FLAGS BODY.PEEK[HEADER])")
                imap.fetch(f"{max(1, last - 19)}:{last}", "(BODY.PEEK[])")
                imap.logout()
            except (imaplib.IMAP4.error, ValueError) as exc:
                failed.append(str(exc)[:200])
                imap.shutdown()
                continue
            times.append(time.monotonic() - start)

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    times.sort()
    return {
        "sessions": len(times),
        "failed": len(failed),
        "first_failure": failed[0] if failed else "",
        "p50": statistics.median(times) if times else None,
        "p99": times[min(len(times) - 1, int(len(times) * 0.99))] if times else None,
    }


def fill(mnt, user, n):
    """N generated messages straight into the mailbox's cur/ (as a migrated mailbox is)."""
    vmail = pwd.getpwnam("vmail")
    cur = f"{mnt}/{user}/Maildir/cur"
    os.makedirs(cur)
    rnd = random.Random(7)
    for i in range(n):
        with open(f"{cur}/{1796200000 + i}.M{i}P1.bench:2,S", "w") as fh:
            fh.write(message(i, rnd, user))
    for root, _, files in os.walk(f"{mnt}/{user}"):
        for name in [root, *(os.path.join(root, f) for f in files)]:
            os.chown(name, vmail.pw_uid, vmail.pw_gid)
    return f"order{n // 2:06d}x"


def search(user, word, repeat=3):
    """SEARCH BODY and SEARCH TEXT for WORD: the best of REPEAT, and the hits."""
    imap = imaplib.IMAP4("127.0.0.1", IMAP_PORT, timeout=120)
    imap.login(user, PASSWORD)
    imap.select("INBOX", readonly=True)
    out = {}
    for key in ("BODY", "TEXT"):
        best = None
        for _ in range(repeat):
            start = time.monotonic()
            _, [hits] = imap.search(None, key, word)
            took = time.monotonic() - start
            best = took if best is None else min(best, took)
        out[key] = {"seconds": best, "hits": len(hits.split())}
    imap.logout()
    return out


def main():
    seconds, clients, messages = (int(a) for a in sys.argv[1:4])
    stop_dovecot()
    unmount_all()
    shutil.rmtree(ROOT, ignore_errors=True)
    shutil.rmtree(VOLATILE, ignore_errors=True)
    os.makedirs(VOLATILE)
    os.chown(VOLATILE, pwd.getpwnam("vmail").pw_uid, pwd.getpwnam("vmail").pw_gid)
    os.makedirs(f"{ROOT}/state")
    mounts = {b: mount(b, secrets.token_urlsafe(24)) for b in BACKENDS}
    users = {b: f"{b}@bench.example" for b in BACKENDS}
    with open(f"{ROOT}/users", "w") as fh:
        for b in BACKENDS:
            fh.write(f"{users[b]}:{PASSWORD}::::{mounts[b]}/{users[b]}::\n")
        fh.write(f"search@bench.example:{PASSWORD}::::{mounts['encfs']}/search::\n")
    os.chown(f"{ROOT}/users", 0, grp.getgrnam("dovecot").gr_gid)
    os.chmod(f"{ROOT}/users", 0o640)
    results = {"seconds": seconds, "clients": clients, "messages": messages, "backends": {}}
    try:
        dovecot(fts=False)
        for b in BACKENDS:
            delivered, refused, took = deliver(users[b], seconds)
            results["backends"][b] = {
                "delivered": delivered,
                "refused": len(refused),
                "replies": sorted({r.split(" [", 1)[0] for r in refused}),
                "stored": stored(mounts[b], users[b]),
                "per_second": delivered / took,
                "imap": sessions(users[b], clients, seconds),
            }
        with open(f"{ROOT}/dovecot.log") as fh:
            log = fh.read().splitlines()
        for b in BACKENDS:
            errors = [line for line in log if f"({users[b]})" in line and "Error:" in line]
            results["backends"][b]["errors_logged"] = len(errors)
            results["backends"][b]["first_error"] = (
                errors[0].split("Error: ", 1)[1][:300] if errors else ""
            )
        word = fill(mounts["encfs"], "search", messages)
        results["word"] = word
        results["scan"] = search("search@bench.example", word)
        dovecot(fts=True)
        start = time.monotonic()
        sh("doveadm", "-c", CONF, "index", "-u", "search@bench.example", "INBOX")
        results["index_seconds"] = time.monotonic() - start
        results["indexed"] = search("search@bench.example", word)
        results["mailbox_bytes"] = tree_bytes(f"{mounts['encfs']}/search/Maildir/cur")
        results["index_bytes"] = tree_bytes(f"{mounts['encfs']}/search", "xapian")
    except Exception:
        with open(f"{ROOT}/dovecot.log") as fh:
            errors = [line for line in fh if "rror" in line or "atal" in line]
            print("the benchmark's Dovecot logged:", *errors[:5], file=sys.stderr)
        raise
    finally:
        stop_dovecot()
        unmount_all()
        shutil.rmtree(ROOT, ignore_errors=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
