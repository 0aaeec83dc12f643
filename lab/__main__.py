"""The lab from the command line: ``python -m lab {up,demo,down,shell,status}``.

``demo`` brings the lab up with a plain salt-master daemon, applies the highstate to mx1
through it and prints a report; the lab stays up until ``down``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from . import config, lab, mailhost, master
from . import proof as proof_of
from .until import Timeout


def _demo() -> int:
    t0 = time.monotonic()
    master.demo_stop()

    try:
        timings = lab.up(master.demo_start)
        master.wait_ping(master.DEMO_DIR, "mx1")
    except BaseException:  # a failure or Ctrl-C while building: leave nothing behind
        master.demo_stop()
        lab.cleanup()
        raise
    t_up = time.monotonic() - t0
    print(
        "applying the highstate to mx1 through the master (salt 'mx*' state.apply) ...", flush=True
    )
    rc, data = mailhost.converge(master.DEMO_DIR, "mx*")
    t_apply = time.monotonic() - t0 - t_up
    states = data.get("mx1", {})
    if not isinstance(states, dict):
        print(states)
        states = {"(render)": {"result": False, "changes": {}, "__id__": "(render)"}}
    failed = [v.get("__id__", k) for k, v in states.items() if not v["result"]]
    changed = [v.get("__id__", k) for k, v in states.items() if v["changes"]]
    ok = rc == 0 and not failed
    mx1, mx2, peer = (config.HOSTS[h] for h in ("mx1", "mx2", "peer"))
    mx1_store = mailhost.store_status().get("state")
    proof = ["(not tried: the highstate failed)"]
    if ok:
        print("proving that mail works, from the peer ...", flush=True)
        try:
            proof = proof_of.mail_works(master.DEMO_DIR)
        except (RuntimeError, Timeout) as exc:
            ok, proof = False, [f"mail does not work: {exc}"]
    proof_text = "\n".join("  " + line for line in proof)
    print(f"""
Lab up in {timings["up"]:.0f}s (images {timings["images"]:.0f}s); highstate in {t_apply:.0f}s:
{len(states)} states, {len(changed)} changed, {len(failed)} failed {failed or ""}

  host     addresses                              role
  master   {config.HOST_IP4:15} {config.HOST_IP6:22} salt-master + apt proxy (this machine)
  mx1      {mx1.ip4:15} {mx1.ip6:22} the mail host ({mx1.fqdn}), salt-minion
  mx2      {mx2.ip4:15} {mx2.ip6:22} a fresh host for the masterless way (salt-call --local)
  peer     {peer.ip4:15} {peer.ip6:22} the outside world and the lab's DNS ({peer.fqdn})

  mail store: {mx1_store}, passphrase "{mailhost.STORE_PASSPHRASE}"
  demo logins: alice@example.com / alice-demo-pass (also bob, carol@example.org)

  make lab-shell           a root shell in mx1 (HOST=peer for the peer)
  make lab-salt ARGS=...   the salt CLI against the lab's master, e.g. ARGS="'mx*' test.ping"
  make lab-down            tear everything down

{"Mail works:" if ok else "Mail does NOT work:"}
{proof_text}
""")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab")
    parser.add_argument("command", choices=["build", "demo", "down", "shell", "status", "salt"])
    parser.add_argument("args", nargs="*")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[lab] %(message)s")
    if opts.command == "build":
        print(lab.build_images())
    elif opts.command == "demo":
        return _demo()
    elif opts.command == "down":
        master.demo_stop()
        lab.down()
        print("lab torn down; nothing left behind")
    elif opts.command == "shell":
        lab.shell(opts.args[0] if opts.args else "mx1")
    elif opts.command == "status":
        print(json.dumps(lab.status(), indent=2))
    elif opts.command == "salt":
        proc = master.salt(master.DEMO_DIR, *opts.args, check=False)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        return proc.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
