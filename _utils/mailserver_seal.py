"""
Secrets sent between the master and a minion sealed to the receiver's Salt key, so the event
bus and the job cache only ever carry ciphertext: a random AES-256-GCM key encrypts the
secret, RSA-OAEP (SHA-256) encrypts that key to the receiver's public key. The minion's side;
the master's runner (``_runners/mailserver.py``, which masters load from ``runner_dirs``,
apart from this formula's utils) speaks the same format: ``{"key", "nonce", "data"}``, each
base64.
"""

import base64
import os


def _oaep():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def seal(public_pem_path, data):
    """``data`` (bytes) sealed to the public key in ``public_pem_path``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    with open(public_pem_path, "rb") as fh:
        key = serialization.load_pem_public_key(fh.read())
    aes, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    sealed = {
        "key": key.encrypt(aes, _oaep()),
        "nonce": nonce,
        "data": AESGCM(aes).encrypt(nonce, data, None),
    }
    return {k: base64.b64encode(v).decode() for k, v in sealed.items()}


def unseal(private_pem_path, sealed):
    """What was sealed to the private key in ``private_pem_path`` (bytes); ValueError when it
    was sealed to another key or altered."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    with open(private_pem_path, "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), password=None)
    try:
        parts = {k: base64.b64decode(sealed[k]) for k in ("key", "nonce", "data")}
        aes = key.decrypt(parts["key"], _oaep())
        return AESGCM(aes).decrypt(parts["nonce"], parts["data"], None)
    except (InvalidTag, KeyError, TypeError, ValueError):
        raise ValueError("not sealed to this key") from None
