"""
State for a certificate from an ACME CA: present for exactly the wanted names.
"""

__virtualname__ = "mailserver_acme"


def __virtual__():
    if "mailserver_acme.status" not in __salt__:
        return (False, "the mailserver_acme execution module is not available")
    return __virtualname__


def certificate(name, domains, server, email="", http_port=80, deploy_hook="", ca_file=""):
    """
    certbot's certificate ``name`` covers exactly ``domains``; issued (and deployed by
    ``deploy_hook``) when missing or when the names changed. Renewal is certbot's timer's.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    have = __salt__["mailserver_acme.status"](name)
    want = sorted(domains)
    if have["exists"] and have["names"] == want:
        ret["comment"] = f"certificate for {', '.join(want)} until {have['not_after']}"
        return ret
    old = have.get("names")
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = {"names": {"old": old, "new": want}}
        ret["comment"] = f"would ask {server} for a certificate"
        return ret
    new = __salt__["mailserver_acme.issue"](
        domains, server, email=email, cert_name=name, http_port=http_port,
        deploy_hook=deploy_hook, ca_file=ca_file,
    )  # fmt: skip
    ret["changes"] = {"names": {"old": old, "new": new["names"]}}
    ret["comment"] = f"certificate issued by {new['issuer']} until {new['not_after']}"
    return ret
