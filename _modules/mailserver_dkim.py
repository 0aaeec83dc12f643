"""
DKIM keys for OpenDKIM, made on the minion and never leaving it: one directory per domain
under the key directory, one ``<selector>.private`` (PEM, owned by opendkim, mode 0600) per
selector, and ``active`` naming the selector that signs. Only public keys come out of here
(:py:func:`public_keys`, which the Salt mine publishes so that DNS can be built from it).

Selectors are named after the month the key was made (``s202611``, then ``s202611b`` ...),
so a later key never takes the name of an earlier one and the names sort by age.

Rotation with overlapping selectors (:py:func:`rotation_plan`, carried out by the state):
a key older than ``rotate_after_days`` gets a successor, which is published (the mine and
``mailserver_dns.records`` list every selector) but does not sign; once DNS serves it, it
signs and the old key is kept published for ``retire_after_days`` (mail in transit still
verifies), then deleted. ``meta.json`` in the domain's directory records when each key was
made, activated and is due to retire.
"""

import base64
import datetime
import grp
import json
import os
import pwd
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from salt.exceptions import CommandExecutionError

__virtualname__ = "mailserver_dkim"

_SELECTOR = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def __virtual__():
    return __virtualname__


def _dkim():
    """The model's DKIM settings (key directory, owner, bits, rotation)."""
    return __salt__["mailserver.current"]()["dkim"]


def _dir(domain, key_dir=None):
    return os.path.join(key_dir or _dkim()["key_dir"], domain)


def _now():
    return datetime.datetime.now(datetime.UTC)


def _new_selector(now=None, taken=(), prefix=""):
    """The selector a key made now gets: ``s`` + year + month, and a letter when that one
    is taken; after ``prefix`` (a host other than the primary: its first label and ``-``)."""
    base = prefix + (now or _now()).strftime("s%Y%m")
    for suffix in ["", *"bcdefghijklmnopqrstuvwxyz"]:
        if base + suffix not in taken:
            return base + suffix
    raise CommandExecutionError(f"no free DKIM selector left for {base}")


def _meta_path(domain, key_dir=None):
    return os.path.join(_dir(domain, key_dir), "meta.json")


def _meta(domain, key_dir=None):
    """When each key of ``domain`` was made, activated, and is due to retire (ISO times)."""
    try:
        with open(_meta_path(domain, key_dir), encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        data = {}
    for key in ("created", "activated", "retire"):
        data.setdefault(key, {})
    return data


def _write_meta(domain, data, key_dir=None):
    path = _meta_path(domain, key_dir)
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)


def selectors(domain, key_dir=None):
    """
    The selectors with a key for ``domain``, oldest first, and the active one:
    ``{"selectors": [...], "active": "s202611" or None}``.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.selectors example.com
    """
    path = _dir(domain, key_dir)
    try:
        names = sorted(f[: -len(".private")] for f in os.listdir(path) if f.endswith(".private"))
    except FileNotFoundError:
        return {"selectors": [], "active": None}
    active = None
    try:
        with open(os.path.join(path, "active"), encoding="ascii") as fh:
            active = fh.read().strip() or None
    except FileNotFoundError:
        pass
    if active not in names:
        active = names[-1] if names else None
    return {"selectors": names, "active": active}


def next_selector(domain, key_dir=None):
    """
    The selector the next key of ``domain`` gets (this month's, or with a letter).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.next_selector example.com
    """
    prefix = _dkim().get("selector_prefix", "")
    return _new_selector(taken=selectors(domain, key_dir)["selectors"], prefix=prefix)


def _ids(user):
    try:
        return pwd.getpwnam(user).pw_uid, grp.getgrnam(user).gr_gid
    except KeyError as exc:
        raise CommandExecutionError(f"user/group {user} missing: install opendkim first") from exc


def generate(domain, bits=None, selector=None, key_dir=None, user=None):
    """
    Make a new RSA key for ``domain`` under ``selector`` (default: this month's) and return
    the selector. The private key is written with mode 0600, owned by opendkim, and is never
    returned. An existing key of that selector is kept (the call returns its selector).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.generate example.com
    """
    selector = selector or next_selector(domain, key_dir)
    if not _SELECTOR.match(selector):
        raise CommandExecutionError(f"{selector!r} is not a usable DKIM selector")
    uid, gid = _ids(user or _dkim()["user"])
    bits = bits or _dkim()["bits"]
    path = _dir(domain, key_dir)
    os.makedirs(path, mode=0o750, exist_ok=True)
    os.chown(path, uid, gid)
    target = os.path.join(path, selector + ".private")
    if os.path.exists(target):
        return selector
    key = rsa.generate_private_key(public_exponent=65537, key_size=int(bits))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    tmp = target + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchown(fd, uid, gid)
        os.write(fd, pem)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    data = _meta(domain, key_dir)
    data["created"][selector] = _now().isoformat()
    _write_meta(domain, data, key_dir)
    return selector


def activate(domain, selector, key_dir=None):
    """
    Make ``selector`` the one that signs mail of ``domain``.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.activate example.com s202611
    """
    if selector not in selectors(domain, key_dir)["selectors"]:
        raise CommandExecutionError(f"no DKIM key {selector} for {domain}")
    path = os.path.join(_dir(domain, key_dir), "active")
    with open(path + ".tmp", "w", encoding="ascii") as fh:
        fh.write(selector + "\n")
    os.replace(path + ".tmp", path)
    data = _meta(domain, key_dir)
    data["activated"][selector] = _now().isoformat()
    _write_meta(domain, data, key_dir)
    return selector


def rotate(domain, bits=None, key_dir=None, user=None):
    """
    Start a rotation now: make the successor of the active key (it signs once DNS serves
    it; the state switches). Returns the new selector, or the pending one if a rotation is
    already under way.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.rotate example.com
    """
    pending = _pending(domain, key_dir)
    return pending or generate(domain, bits=bits, key_dir=key_dir, user=user)


def _pending(domain, key_dir=None):
    """The newest selector when it is newer than the active one (made, not yet signing)."""
    sel = selectors(domain, key_dir)
    if sel["selectors"] and sel["active"] and sel["selectors"][-1] > sel["active"]:
        return sel["selectors"][-1]
    return None


def _parse(when):
    return datetime.datetime.fromisoformat(when) if when else None


def published(domain, selector, key_dir=None):
    """
    True when DNS (this host's resolver) serves the public key of ``selector`` at
    ``<selector>._domainkey.<domain>``.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.published example.com s202611
    """
    import dns.exception  # pylint: disable=import-outside-toplevel
    import dns.resolver  # pylint: disable=import-outside-toplevel

    if selector not in selectors(domain, key_dir)["selectors"]:
        return False
    want = _public(domain, selector, key_dir)["p"]
    try:
        answer = dns.resolver.resolve(f"{selector}._domainkey.{domain}", "TXT", lifetime=10)
    except dns.exception.DNSException:
        return False
    for rdata in answer:
        text = b"".join(rdata.strings).decode("ascii", "replace").replace(" ", "")
        if f"p={want}" in text:
            return True
    return False


def rotation_plan(domain, rotate_after_days=None, retire_after_days=None, key_dir=None, now=None):
    """
    What rotation asks for now: ``{"start": bool, "switch": selector or None, "retire":
    [selectors]}``: start a successor for a key older than ``rotate_after_days`` (0: never),
    switch to a successor DNS serves, delete keys whose time to retire has come.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.rotation_plan example.com
    """
    if rotate_after_days is None or retire_after_days is None:
        rotate_after_days, retire_after_days = (
            _dkim()["rotate_after_days"],
            _dkim()["retire_after_days"],
        )
    now = now or _now()
    sel, data = selectors(domain, key_dir), _meta(domain, key_dir)
    out = {"start": False, "switch": None, "retire": []}
    active, pending = sel["active"], _pending(domain, key_dir)
    if not active:
        return out
    if pending:
        if published(domain, pending, key_dir):
            out["switch"] = pending
    elif rotate_after_days:
        since = _parse(data["activated"].get(active) or data["created"].get(active))
        if since and now - since >= datetime.timedelta(days=rotate_after_days):
            out["start"] = True
    for name in sel["selectors"]:
        due = _parse(data["retire"].get(name))
        if name != active and name != pending and due and due <= now:
            out["retire"].append(name)
    return out


def switch(domain, selector, retire_after_days=None, key_dir=None):
    """
    Sign with ``selector`` from now on; the keys it replaces stay published for
    ``retire_after_days``, then :py:func:`retire` deletes them.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.switch example.com s202611b
    """
    if retire_after_days is None:
        retire_after_days = _dkim()["retire_after_days"]
    old = selectors(domain, key_dir)["active"]
    activate(domain, selector, key_dir)
    data = _meta(domain, key_dir)
    due = _now() + datetime.timedelta(days=retire_after_days)
    if old and old != selector:
        data["retire"][old] = due.isoformat()
    _write_meta(domain, data, key_dir)
    return {"active": selector, "retiring": old, "retire_at": due.isoformat()}


def retire(domain, selector, key_dir=None):
    """
    Delete the key of ``selector`` (never the active one); its DNS record can go.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.retire example.com s202605
    """
    sel = selectors(domain, key_dir)
    if selector not in sel["selectors"]:
        raise CommandExecutionError(f"no DKIM key {selector} for {domain}")
    if selector == sel["active"]:
        raise CommandExecutionError(f"{selector} signs mail of {domain}: switch first")
    os.remove(os.path.join(_dir(domain, key_dir), selector + ".private"))
    data = _meta(domain, key_dir)
    for key in ("created", "activated", "retire"):
        data[key].pop(selector, None)
    _write_meta(domain, data, key_dir)
    return selector


def _public(domain, selector, key_dir=None):
    with open(os.path.join(_dir(domain, key_dir), selector + ".private"), "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {"bits": key.key_size, "p": base64.b64encode(der).decode("ascii")}


def public_keys(domains=None, key_dir=None):
    """
    The public half of every key, for DNS: ``{domain: {selector: {"bits", "p", "active",
    "record"}}}``, where ``record`` is the TXT text to publish at
    ``<selector>._domainkey.<domain>``. The Salt mine publishes this (see the README).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.public_keys
    """
    if key_dir is None:
        try:
            key_dir = _dkim()["key_dir"]
        except CommandExecutionError:  # nothing applied yet: no keys either (the mine asks)
            return {}
    if domains is None:
        domains = sorted(os.listdir(key_dir)) if os.path.isdir(key_dir) else []
    out = {}
    for domain in domains:
        sel = selectors(domain, key_dir)
        out[domain] = {}
        for name in sel["selectors"]:
            pub = _public(domain, name, key_dir)
            pub["active"] = name == sel["active"]
            pub["record"] = f"v=DKIM1; k=rsa; p={pub['p']}"
            out[domain][name] = pub
    return out


def tables(domains=None, key_dir=None):
    """
    OpenDKIM's key table and signing table for ``domains``: each domain signs with its
    active selector (sub-domains too). ``{"key_table": text, "signing_table": text}``.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_dkim.tables
    """
    if domains is None:
        domains = __salt__["mailserver.current"]()["accounts"]["domains"]
    keys, signing = [], []
    for domain in sorted(domains):
        active = selectors(domain, key_dir)["active"]
        if not active:
            continue
        name = f"{active}._domainkey.{domain}"
        path = os.path.join(_dir(domain, key_dir), active + ".private")
        keys.append(f"{name} {domain}:{active}:{path}")
        signing.append(f"*@{domain} {name}")
        signing.append(f"*@*.{domain} {name}")
    return {
        "key_table": "\n".join(keys) + "\n" if keys else "",
        "signing_table": "\n".join(signing) + "\n" if signing else "",
    }
