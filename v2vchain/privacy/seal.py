"""Sealing the exact meeting point to the matched counterparty, so no one else (node, relay, chain) learns it.

A sealed box: a fresh ephemeral X25519 key per message, ECDH with the recipient's X25519 key, HKDF-SHA256 to a
ChaCha20-Poly1305 key and nonce, and the request id as associated data so a box cannot be moved to another trade.
The recipient's X25519 key is derived from its secp256k1 (Ethereum) key by HKDF, so a vehicle keeps one secret
(its keystore) and can re-derive the other at any time; the derivation is one-way, so the X25519 key reveals
nothing about the Ethereum key. The public half travels inside the holder-signed presentation (`sealKey`).
A sealed box proves nothing about its sender: accept one only over a channel tied to the verified counterparty.
"""

from __future__ import annotations

import json

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from v2vchain.errors import InvalidInput

from .errors import SealBroken
from .geo import Position, check_position

_KEY_INFO = b"v2vchain/x25519-from-secp256k1/v1"
_SEAL_INFO = b"v2vchain/sealed-box/v1"
_PUBLIC_LEN = 32
_TAG_LEN = 16


def x25519_key(eth_private_key: bytes) -> X25519PrivateKey:
    """The vehicle's X25519 key: HKDF-SHA256(ikm = secp256k1 key, info = a fixed label), 32 bytes, clamped by X25519."""
    if len(eth_private_key) != 32:
        raise InvalidInput("an Ethereum private key is 32 bytes")
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(bytes(eth_private_key))
    return X25519PrivateKey.from_private_bytes(seed)


def public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def seal(recipient_public: bytes, plaintext: bytes, request_id: int) -> bytes:
    """ephemeral public key (32) || ChaCha20-Poly1305 ciphertext and tag."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = public_bytes(ephemeral)
    shared = ephemeral.exchange(_public_key(recipient_public))
    key, nonce = _key_and_nonce(shared, ephemeral_public, recipient_public)
    return ephemeral_public + ChaCha20Poly1305(key).encrypt(nonce, plaintext, _associated(request_id))


def open_sealed(recipient: X25519PrivateKey, sealed: bytes, request_id: int) -> bytes:
    if len(sealed) < _PUBLIC_LEN + _TAG_LEN:
        raise SealBroken(f"sealed message of {len(sealed)} bytes is too short")
    ephemeral_public, ciphertext = sealed[:_PUBLIC_LEN], sealed[_PUBLIC_LEN:]
    try:
        shared = recipient.exchange(_public_key(ephemeral_public))
    except ValueError:  # a low-order ephemeral key gives an all-zero secret
        raise SealBroken("sealed message carries an invalid ephemeral key") from None
    key, nonce = _key_and_nonce(shared, ephemeral_public, public_bytes(recipient))
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, _associated(request_id))
    except InvalidTag:
        raise SealBroken(f"sealed message for request {request_id} does not open with this key") from None


def seal_meeting_point(recipient_public: bytes, point: Position, request_id: int) -> bytes:
    check_position(*point)
    return seal(recipient_public, json.dumps({"lat": point[0], "lon": point[1]}).encode(), request_id)


def open_meeting_point(recipient: X25519PrivateKey, sealed: bytes, request_id: int) -> Position:
    data = json.loads(open_sealed(recipient, sealed, request_id))
    return float(data["lat"]), float(data["lon"])


def _public_key(raw: bytes) -> X25519PublicKey:
    if len(raw) != _PUBLIC_LEN:
        raise InvalidInput(f"an X25519 public key is {_PUBLIC_LEN} bytes, got {len(raw)}")
    return X25519PublicKey.from_public_bytes(raw)


def _key_and_nonce(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> tuple[bytes, bytes]:
    """Both public keys salt the HKDF, binding the box to this exchange; a fresh ephemeral key makes every key new."""
    okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=ephemeral_public + recipient_public, info=_SEAL_INFO).derive(
        shared
    )
    return okm[:32], okm[32:]


def _associated(request_id: int) -> bytes:
    if not 0 <= request_id < 2**256:
        raise InvalidInput(f"request id must be a uint256, got {request_id}")
    return b"v2vchain/meeting/" + request_id.to_bytes(32, "big")
