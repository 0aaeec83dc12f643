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


def status(cert_name="mailserver"):
    """
    The certificate certbot keeps under ``cert_name``: its names, expiry and serial, or
    ``{"exists": False}``.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_acme.status
    """
    cert = __salt__["mailserver_dns.certificate"](os.path.join(LIVE, cert_name, "cert.pem"))
    if cert is None:
        return {"exists": False}
    return {"exists": True, **{k: cert[k] for k in ("names", "not_after", "serial", "issuer")}}


def issue(names, server, email="", cert_name="mailserver", http_port=80, deploy_hook="",
          ca_file=""):  # fmt: skip
    """
    Ask the ACME ``server`` for a certificate for ``names`` (HTTP-01 on ``http_port``,
    certbot's own listener) and deploy it with ``deploy_hook``; certbot's timer renews it
    with the same settings. Returns the new status.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_acme.issue '[mx1.example.com]' https://acme-v02.api.letsencrypt.org/directory
    """
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
