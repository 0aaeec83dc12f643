"""
State for DKIM keys: every mail domain has a key made on the minion, and keys rotate with
overlapping selectors. Changes name domains and selectors, never key material.
"""

__virtualname__ = "mailserver_dkim"


def __virtual__():
    if "mailserver_dkim.selectors" not in __salt__:
        return (False, "the mailserver_dkim execution module is not available")
    return __virtualname__


def keys_present(
    name, domains, bits=2048, rotate_after_days=0, retire_after_days=7, user="opendkim"
):
    """
    A DKIM key of ``bits`` for each of ``domains`` under the key directory ``name``, owned by
    ``user`` (OpenDKIM's, which refuses keys others can read); a domain
    without one gets a new key, which signs at once. Rotation (``rotate_after_days``, 0:
    only when started by hand with ``mailserver_dkim.rotate``): a successor is made and
    published but signs only once DNS serves it; the old key stays published for
    ``retire_after_days`` and is then deleted.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    mod = "mailserver_dkim."
    todo, waiting = {}, []
    for domain in domains:
        sel = __salt__[mod + "selectors"](domain, key_dir=name)
        if not sel["active"]:
            todo[domain] = {"new key": __salt__[mod + "next_selector"](domain, key_dir=name)}
            continue
        plan = __salt__[mod + "rotation_plan"](
            domain, rotate_after_days, retire_after_days, key_dir=name
        )
        wanted = {}
        if plan["start"]:
            wanted["successor"] = __salt__[mod + "next_selector"](domain, key_dir=name)
        if plan["switch"]:
            wanted["switched"] = plan["switch"]
        if plan["retire"]:
            wanted["retired"] = plan["retire"]
        if wanted:
            todo[domain] = wanted
        if sel["selectors"][-1] != sel["active"] and not plan["switch"]:
            waiting.append(f"{domain}: {sel['selectors'][-1]}")
    note = (
        "; waiting for DNS to serve the successor key of " + ", ".join(waiting) if waiting else ""
    )
    if not todo:
        ret["comment"] = f"DKIM keys present for {len(domains)} domain(s){note}"
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = todo
        ret["comment"] = "would change DKIM keys of " + ", ".join(sorted(todo)) + note
        return ret
    for domain, wanted in todo.items():
        done = {}
        if "new key" in wanted:
            sel = __salt__[mod + "generate"](domain, bits=bits, key_dir=name, user=user)
            __salt__[mod + "activate"](domain, sel, key_dir=name)
            done["new key"] = sel
        if "successor" in wanted:  # published now, signing once DNS serves it
            done["successor"] = __salt__[mod + "rotate"](domain, bits=bits, key_dir=name, user=user)
        if "switched" in wanted:
            __salt__[mod + "switch"](domain, wanted["switched"], retire_after_days, key_dir=name)
            done["switched"] = wanted["switched"]
        for old in wanted.get("retired", []):
            __salt__[mod + "retire"](domain, old, key_dir=name)
            done.setdefault("retired", []).append(old)
        ret["changes"][domain] = done
    ret["comment"] = "changed DKIM keys of " + ", ".join(sorted(todo)) + note
    return ret
