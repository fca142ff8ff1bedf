"""EIP-712 signature recovery at libsecp256k1's speed, under the one strict rule: the contracts' own (OpenZeppelin
ECDSA): 65 bytes r || s || v, 0 < r < n, 0 < s <= n/2 (canonical), v of 27 or 28, a recovered signer not zero.

eth-account re-parses the types, re-hashes the type string and the domain, and encodes every field through eth-abi
for each signature: most of its time per recovery. Here a `TypedHasher` computes the typeHash and the domain
separator once per (type, domain), then hashes a struct as keccak(typeHash || 32-byte words) by hand; recovery is
coincurve's libsecp256k1. Field types: address, uintN, bytes1..32, string (every type the project signs); values as
the project passes them (int; "0x" hex or 20 bytes for an address; bytes). `recover_typed`, which every verifier
goes through (protocol.signatures, eip712.recover), keeps a hasher per (domain, types) and hashes anything a hasher
does not take (another field type, a value in another spelling such as "7" for a uint) with eth-account's encoder,
so it answers exactly as eth-account under the rule, signer for signer and refusal for refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from coincurve import PublicKey
from Crypto.Hash import keccak as _keccak
from eth_account.messages import encode_typed_data

from v2vchain.errors import InvalidInput

from .errors import BadSignature

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N = SECP256K1_N // 2
_HASHERS_KEPT = 256  # (domain, types) pairs: a verifier sees a handful; documents can name any, so it is bounded


def split(signature: bytes) -> tuple[int, int, int]:
    """(v, r, s) of a signature that meets the rule, or BadSignature."""
    if not isinstance(signature, (bytes, bytearray)) or len(signature) != 65:
        raise BadSignature(f"a signature is 65 bytes, got {len(signature) if hasattr(signature, '__len__') else '?'}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if not 0 < r < SECP256K1_N:
        raise BadSignature("signature r is out of range")
    if not 0 < s <= HALF_N:
        raise BadSignature("signature s is not canonical (s must be at most secp256k1n/2)")
    if v not in (27, 28):
        raise BadSignature(f"signature v must be 27 or 28, got {v}")
    return v, r, s


def type_string(types: Mapping[str, Any]) -> str:
    ((name, fields),) = types.items()
    return f"{name}({','.join(f['type'] + ' ' + f['name'] for f in fields)})"


def keccak(data: bytes) -> bytes:
    """pycryptodome's Keccak-256 called directly: eth_hash's dispatch costs a microsecond a call."""
    return _keccak.new(data=data, digest_bits=256).digest()


def checksum_address(raw: bytes) -> str:
    """EIP-55, as eth_utils.to_checksum_address writes it, at half its cost (no input parsing)."""
    hex_ = raw.hex()
    return "0x" + "".join(c.upper() if h in "89abcdef" else c for c, h in zip(hex_, keccak(hex_.encode()).hex()))


_DOMAIN_FIELDS = (
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
    ("salt", "bytes32"),
)


def _uint(bits: int) -> Callable[[Any], bytes]:
    def encode(value: Any) -> bytes:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << bits:
            raise InvalidInput(f"{value!r} is not a uint{bits}")
        return value.to_bytes(32, "big")

    return encode


def _address(value: Any) -> bytes:
    raw = bytes.fromhex(value[2:]) if isinstance(value, str) and value[:2] in ("0x", "0X") else value
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != 20:
        raise InvalidInput(f"{value!r} is not an address")
    return bytes(12) + bytes(raw)


def _fixed_bytes(size: int) -> Callable[[Any], bytes]:
    def encode(value: Any) -> bytes:
        if not isinstance(value, (bytes, bytearray)) or len(value) > size:
            raise InvalidInput(f"{value!r} is not bytes{size}")
        return bytes(value).ljust(32, b"\x00")

    return encode


def _string(value: Any) -> bytes:
    if not isinstance(value, str):
        raise InvalidInput(f"{value!r} is not a string")
    return keccak(value.encode())


def _encoder(solidity_type: str) -> Callable[[Any], bytes]:
    if solidity_type == "address":
        return _address
    if solidity_type == "string":
        return _string
    for prefix, make, sizes in (("uint", _uint, range(8, 257, 8)), ("bytes", _fixed_bytes, range(1, 33))):
        if (
            solidity_type.startswith(prefix)
            and solidity_type[len(prefix) :].isdigit()
            and int(solidity_type[len(prefix) :]) in sizes
        ):
            return make(int(solidity_type[len(prefix) :]))
    raise InvalidInput(f"field type {solidity_type} is not supported by the fast path")


def domain_separator(domain: Mapping[str, Any]) -> bytes:
    """hashStruct(EIP712Domain) over the fields the domain has, in EIP-712's order (as eth-account builds it)."""
    unknown = set(domain) - {name for name, _ in _DOMAIN_FIELDS}
    if unknown:
        raise InvalidInput(f"unknown EIP712Domain fields: {sorted(unknown)}")
    fields = [(name, kind) for name, kind in _DOMAIN_FIELDS if name in domain]
    type_hash = keccak(f"EIP712Domain({','.join(f'{kind} {name}' for name, kind in fields)})".encode())
    return keccak(type_hash + b"".join(_encoder(kind)(domain[name]) for name, kind in fields))


class TypedHasher:
    """One EIP-712 struct type under one domain: `digest(message)` is what the signer signed."""

    def __init__(self, domain: Mapping[str, Any], types: Mapping[str, Any]) -> None:
        ((_, fields),) = types.items()
        self._fields = [(f["name"], _encoder(f["type"])) for f in fields]
        self._type_hash = keccak(type_string(dict(types)).encode())
        self._prefix = b"\x19\x01" + domain_separator(domain)

    def digest(self, message: Mapping[str, Any]) -> bytes:
        words = b"".join(encode(message[name]) for name, encode in self._fields)
        return keccak(self._prefix + keccak(self._type_hash + words))

    def recover(self, message: Mapping[str, Any], signature: bytes) -> str:
        """signatures.recover_typed(domain, types, message, signature), at libsecp256k1 speed."""
        return recover_digest(self.digest(message), signature)


_hashers: dict[Any, TypedHasher | None] = {}  # None: a type no hasher takes (eth-account's encoder hashes it)


def typed_digest(domain: Mapping[str, Any], types: Mapping[str, Any], message: Mapping[str, Any]) -> bytes:
    """What the signer of `message` signed: the (domain, types) hasher's digest, or eth-account's for a type or a
    value spelling the hasher does not take (eth-account then raises what it raises for a malformed message)."""
    try:
        key = (
            tuple((name, type(value), value) for name, value in domain.items()),
            tuple((name, tuple((f["name"], f["type"]) for f in fields)) for name, fields in types.items()),
        )
        hash(key)
    except (TypeError, KeyError, AttributeError):  # unhashable or malformed: eth-account judges it
        key = None
    hasher = _hashers.get(key) if key is not None else None
    if key is not None and key not in _hashers:
        try:
            hasher = TypedHasher(domain, types)
        except (InvalidInput, ValueError, TypeError, KeyError):  # a type outside the fast encoders, or malformed
            hasher = None
        if len(_hashers) >= _HASHERS_KEPT:
            _hashers.clear()
        _hashers[key] = hasher
    if hasher is not None:
        try:
            return hasher.digest(message)
        except (InvalidInput, KeyError):  # a value spelled otherwise, or missing: eth-account's answer is the rule
            pass
    signable = encode_typed_data(domain_data=dict(domain), message_types=dict(types), message_data=dict(message))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def recover_typed(
    domain: Mapping[str, Any], types: Mapping[str, Any], message: Mapping[str, Any], signature: bytes
) -> str:
    """The checksummed signer of EIP-712 typed data under the strict rule (the signature is checked before the
    message is hashed); BadSignature for a refused signature, never the zero address."""
    split(bytes(signature))
    return recover_digest(typed_digest(domain, types, message), signature)


def recover_digest(digest: bytes, signature: bytes) -> str:
    """The checksummed signer of a 32-byte digest under the strict rule; BadSignature as recover_typed raises it."""
    return checksum_address(signer_bytes(digest, signature))


def signer_bytes(digest: bytes, signature: bytes) -> bytes:
    """The signer's 20 bytes (recover_digest without the EIP-55 spelling, for comparing with raw addresses)."""
    v, _, _ = split(bytes(signature))
    try:
        key = PublicKey.from_signature_and_message(bytes(signature[:64]) + bytes([v - 27]), digest, hasher=None)
    except ValueError:  # r is not the x of a curve point, or the recovered point is at infinity
        raise BadSignature("the signature does not recover to any key") from None
    signer = keccak(key.format(compressed=False)[1:])[-20:]
    if signer == bytes(20):
        raise BadSignature("the signature recovers to the zero address")
    return signer
