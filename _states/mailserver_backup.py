"""
State for the backups' secrets: the repository's passphrase and the SSH key for the target,
made on the host (root-only files). Changes name the files, never a secret.
"""

__virtualname__ = "mailserver_backup"


def __virtual__():
    if "mailserver_backup.secrets_status" not in __salt__:
        return (False, "the mailserver_backup execution module is not available")
    return __virtualname__


def secrets_present(name):
    """The repository's passphrase and the SSH key for the target in ``name`` (a root-only
    directory)."""
    return __utils__["mailserver_secret.converge"](
        name,
        __salt__["mailserver_backup.secrets_status"],
        __salt__["mailserver_backup.ensure_secrets"],
        "the backups' passphrase and SSH key are in place",
        __opts__["test"],
    )
