"""
What the hosts of a cluster (``cluster:hosts``, docs/multihost.md) learn of each other
through the Salt mine: each host publishes its certificate (:py:func:`certificate`, public),
and a host that hands mail over to the primary verifies the primary's TLS against it
(:py:func:`certificate_of`). Nothing secret passes here.
"""

from salt.exceptions import CommandExecutionError

__virtualname__ = "mailserver_cluster"

MINE_FUNCTION = "mailserver_cluster.certificate"


def __virtual__():
    return __virtualname__


def certificate():
    """
    This host's name and its certificate chain (PEM), for the Salt mine; empty before the
    first highstate made the certificate.

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_cluster.certificate
    """
    try:
        settings = __salt__["mailserver.current"]()
    except CommandExecutionError:
        return {}
    try:
        with open(settings["tls"]["cert_file"], encoding="ascii") as fh:
            pem = fh.read()
    except FileNotFoundError:
        return {}
    return {"host": settings["hostname"], "pem": pem}


def _published():
    """Every minion's mine entry of :py:func:`certificate`, by host name."""
    found = __salt__["mine.get"]("*", MINE_FUNCTION) or {}
    return {
        entry["host"]: entry["pem"]
        for entry in found.values()
        if isinstance(entry, dict) and entry.get("host") and entry.get("pem")
    }


def certificate_of(host):
    """
    The certificate chain (PEM) that ``host`` published in the Salt mine, or ``""`` when it
    has published none yet (it has not been applied, or its minion's mine is not set up:
    ``mine_functions`` in pillar.example).

    CLI Example:

    .. code-block:: bash

        salt mx2 mailserver_cluster.certificate_of mx1.example.com
    """
    return _published().get(host, "")


def mine_current():
    """
    True when the mine holds this host's certificate as it is on disk (False: it must be
    published again, ``mine.update``).

    CLI Example:

    .. code-block:: bash

        salt mx1 mailserver_cluster.mine_current
    """
    own = certificate()
    return not own or _published().get(own["host"]) == own["pem"]
