"""
Certificates from an ACME CA (Let's Encrypt, or any ACME server such as the lab's pebble)
through certbot: issued for the host name (and more names), renewed by certbot's timer, and
deployed by a hook that copies them to the paths Postfix and Dovecot read and reloads them.
"""

import os

from salt.exceptions import CommandExecutionError

__virtualname__ = "mailserver_acme"

LIVE = "/etc/letsencrypt/live"


def __virtual__():
    return __virtualname__


def _path(path):
    """``path`` under the root named by the minion's ``mailserver_root`` option ("/", the
    host's own files, unless a test points it at a scratch tree)."""
    return os.path.join(__opts__.get("mailserver_root", "/"), path.lstrip("/"))


def status(cert_name=None):
    """
    The certificate certbot keeps under ``cert_name`` (default: the formula's): its names,
    expiry and serial, or ``{"exists": False}``.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_acme.status
    """
    cert_name = cert_name or __salt__["mailserver.current"]()["tls"]["acme"]["cert_name"]
    cert = __salt__["mailserver_dns.certificate"](_path(os.path.join(LIVE, cert_name, "cert.pem")))
    if cert is None:
        return {"exists": False}
    return {"exists": True, **{k: cert[k] for k in ("names", "not_after", "serial", "issuer")}}


def issue(names=None, server=None, email=None, cert_name=None, http_port=None,
          deploy_hook=None, ca_file=None):  # fmt: skip
    """
    Ask the ACME ``server`` for a certificate for ``names`` (HTTP-01 on ``http_port``,
    certbot's own listener) and deploy it with ``deploy_hook``; certbot's timer renews it
    with the same settings. Returns the new status. Every argument defaults to the model's
    (``tls:acme``, and the names the certificate must cover).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_acme.issue
    """
    model = __salt__["mailserver.current"]()
    acme = model["tls"]["acme"]
    names = names or model["tls"]["names"]
    server = server or acme["server"]
    email = acme["email"] if email is None else email
    cert_name = cert_name or acme["cert_name"]
    http_port = http_port or acme["http_port"]
    deploy_hook = acme["deploy_hook"] if deploy_hook is None else deploy_hook
    if ca_file is None:
        ca_file = acme["ca_file"] if acme["ca_bundle"] else ""
    argv = [
        "certbot", "certonly", "--non-interactive", "--agree-tos", "--standalone",
        "--preferred-challenges", "http", "--http-01-port", str(http_port),
        "--server", server, "--cert-name", cert_name, "--keep-until-expiring", "--expand",
        # the same key across renewals: the TLSA record of port 25 stays right
        "--reuse-key",
    ]  # fmt: skip
    argv += ["-m", email] if email else ["--register-unsafely-without-email"]
    if deploy_hook:
        argv += ["--deploy-hook", deploy_hook]
    for name in names:
        argv += ["-d", name]
    env = {"REQUESTS_CA_BUNDLE": ca_file} if ca_file else {}
    ret = __salt__["cmd.run_all"](argv, python_shell=False, env=env, ignore_retcode=True)
    if ret["retcode"] != 0:
        raise CommandExecutionError(f"certbot: {ret['stderr'][-2000:] or ret['stdout'][-2000:]}")
    return status(cert_name)
