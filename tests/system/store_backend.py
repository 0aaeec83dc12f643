"""Run inside mx1 by Salt's own Python (see test_store.py): the store module's whole life
cycle on a scratch store of one backend. Passphrases come on standard input, one per line,
exactly as an admin would type them; prints what each step returned, as JSON."""

import json
import os
import sys

import salt.config
import salt.loader
from salt.exceptions import SaltException

backend, work = sys.argv[1], sys.argv[2]
opts = salt.config.minion_config("/etc/salt/minion")
opts["file_client"] = "local"
# a settings snapshot of its own, as the highstate writes one, with a scratch store
opts["mailserver_settings_file"] = os.path.join(work, "settings.json")
store = {
    "backend": backend,
    "cipher_dir": os.path.join(work, "cipher"),
    "mount_point": os.path.join(work, "plain"),
    "dependents": [],
    "subdirs": [],
}
with open(opts["mailserver_settings_file"], "w") as fh:
    json.dump({"store": store}, fh)
mods = salt.loader.minion_mods(opts, utils=salt.loader.utils(opts))
steps = []


def step(name, *args):
    try:
        out = mods[f"mailserver_store.{name}"](*args)
        steps.append({"step": name, "ok": True, "out": out})
    except SaltException as exc:
        steps.append({"step": name, "ok": False, "error": str(exc)})
    steps[-1]["state"] = mods["mailserver_store.status"]()["state"]


step("status")
step("initialize")  # passphrase 1
with open(os.path.join(work, "plain", "note.txt"), "w") as fh:
    fh.write("store-backend-marker\n")
step("lock")
step("unlock")  # a wrong passphrase
step("unlock")  # passphrase 1
with open(os.path.join(work, "plain", "note.txt")) as fh:
    steps.append({"step": "read", "ok": fh.read() == "store-backend-marker\n"})
# the backend passes the backing inode numbers through: a plaintext file's ciphertext is found
# without the key (what bringing back one message from a backup relies on)
inode = os.stat(os.path.join(work, "plain", "note.txt")).st_ino
cipher = [
    os.path.join(root, name)
    for root, _, names in os.walk(os.path.join(work, "cipher"))
    for name in names
    if os.stat(os.path.join(root, name)).st_ino == inode
]
steps.append({"step": "inode", "ok": len(cipher) == 1})
step("lock")
step("change_passphrase")  # old, new
step("unlock")  # the old one: refused
step("unlock")  # the new one
step("lock")
print(json.dumps(steps))
