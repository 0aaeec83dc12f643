"""
State for the host firewall (ufw): the formula's rules in force and ufw enabled.
"""

__virtualname__ = "mailserver_firewall"


def __virtual__():
    if "mailserver_firewall.plan" not in __salt__:
        return (False, "the mailserver_firewall execution module is not available")
    return __virtualname__


def _describe(todo):
    out = {}
    if todo["policies"]:
        out["policies"] = todo["policies"]
    for what in ("add", "delete"):
        if todo[what]:
            out[what] = [f"{r['comment']}: {' '.join(_short(r))}" for r in todo[what]]
    if todo["enable"]:
        out["enabled"] = True
    return out


def _short(rule):
    src = "" if rule["src"] == "any" else f"from {rule['src']} "
    sport = "" if rule["sport"] == "any" else f"port {rule['sport']} "
    return [f"{src}{sport}to port {rule['dport']}/{rule['proto']}".strip()]


def enabled(name):
    """
    ufw enabled with default deny incoming (IPv4 and IPv6), the formula's public services and
    the Salt master allowed, tagged rules no longer wanted deleted. Rules added by hand are
    kept and named in the comment.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    todo = __salt__["mailserver_firewall.plan"]()
    changes = _describe(todo)
    other = __salt__["mailserver_firewall.rules"]()["other"]
    note = f"; {len(other)} rule(s) not managed by the formula kept" if other else ""
    if not changes:
        ret["comment"] = "firewall in force" + note
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = changes
        ret["comment"] = "firewall would change" + note
        return ret
    __salt__["mailserver_firewall.apply"]()
    left = _describe(__salt__["mailserver_firewall.plan"]())
    ret["changes"] = changes
    if left:
        ret["result"] = False
        ret["comment"] = f"firewall still differs after applying: {left}"
    else:
        ret["comment"] = "firewall in force" + note
    return ret
