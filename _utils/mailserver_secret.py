"""
Secrets made on the mail host and the files that carry them: the database reader's password,
Redis's. Each secret is generated here, kept in a root-only file, and written only into the
files the daemons that need it read (root and the daemon's group). Nothing here logs, returns
to a job or puts a secret in a process's arguments; the execution modules use it through
``__utils__``.
"""

import grp
import hmac
import json
import os
import secrets


def read(path):
    """The secret kept in ``path``, or None."""
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip() or None
    except FileNotFoundError:
        return None


def ensure(path):
    """The secret kept in ``path``, made (and kept, root only) when there is none yet."""
    secret = read(path)
    if secret is None:
        secret = secrets.token_urlsafe(32)
        write(path, secret + "\n")
    return secret


def read_json(path):
    """The JSON document in ``path`` (a result file these modules wrote), ``{}`` when there
    is none or it is not JSON."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (FileNotFoundError, ValueError):
        return {}


def write(path, text, group=None, mode=0o600):
    """Write a file readable only by root (and ``group``) without a moment of wider access."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    gid = grp.getgrnam(group).gr_gid if group else 0
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchown(fd, 0, gid)
        os.fchmod(fd, mode)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def differs(path, text, group=None, mode=0o600):
    """True unless ``path`` holds exactly ``text``, owned by root:``group`` with ``mode``."""
    try:
        st = os.stat(path)
        with open(path, encoding="utf-8") as fh:
            have = fh.read()
    except FileNotFoundError:
        return True
    gid = grp.getgrnam(group).gr_gid if group else 0
    owner = (st.st_uid, st.st_gid, st.st_mode & 0o777)
    return not hmac.compare_digest(have, text) or owner != (0, gid, mode)


def stale(files):
    """The paths of ``files`` ({path: (text, group, mode)}) that are not as they should be."""
    return [path for path, (text, group, mode) in files.items() if differs(path, text, group, mode)]


def write_all(files):
    """Write each of ``files`` that is not as it should be; the paths written."""
    todo = stale(files)
    for path in todo:
        text, group, mode = files[path]
        write(path, text, group, mode)
    return todo


def converge(name, status, ensure, in_place, test):
    """A state's return for secrets made on the host: ``status()`` lists what is not in
    place (never a secret), ``ensure()`` puts it in place and returns what it did. With
    ``test``, what would be done; afterwards, whatever ``status()`` still lists fails it."""
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    todo = status()
    if not todo:
        ret["comment"] = in_place
        return ret
    if test:
        ret.update(result=None, changes={"done": todo}, comment="would: " + "; ".join(todo))
        return ret
    done = ensure()
    left = status()
    if left:
        ret.update(result=False, comment="could not: " + "; ".join(left))
        return ret
    ret.update(changes={"done": done}, comment="; ".join(done))
    return ret
