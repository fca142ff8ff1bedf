"""Confidential, authenticated node-to-node transport: each node serves over TLS with a self-signed certificate, and
its URL carries the certificate's SHA-256 fingerprint (`https://host:port#sha256=<hex>`).

No CA is involved. Every URL a node gives out is inside something its vehicle key signs (a request listing, a bid's
reply endpoint, an order's node URL), so the pin is bound to the vehicle key, and a client connects only to a server
that proves it holds the pinned certificate's key: the check runs in the TLS handshake, before one byte of the
request is sent, so a man in the middle without that key learns nothing and can answer nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import secrets
import socket
import ssl
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from v2vchain.errors import ConfigError

from .errors import UnpinnedPeer

PIN = "#sha256="
CERT_VALIDITY_DAYS = 3650  # the pin, not the dates, is what a peer checks; a new key is a new pin


def ensure_certificate(cert: Path, key: Path, host: str) -> str:
    """The node's certificate fingerprint, creating the key (file mode 0600) and self-signed certificate first when
    they do not exist yet. An existing pair is kept: peers have its fingerprint pinned."""
    if not cert.exists() or not key.exists():
        _create(cert, key, host)
    if key.stat().st_mode & 0o077:
        raise ConfigError(f"the TLS key {key} is readable by others than its owner: `chmod 600 {key}`")
    return fingerprint_of(cert)


def fingerprint_of(cert: Path) -> str:
    """The SHA-256 of the certificate's DER encoding, lowercase hex (what a URL's pin carries)."""
    return _fingerprint(cert.resolve(), cert.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _fingerprint(cert: Path, _mtime_ns: int) -> str:
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    return hashlib.sha256(loaded.public_bytes(serialization.Encoding.DER)).hexdigest()


def _create(cert: Path, key: Path, host: str) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    # a name of its own: a client trusting several nodes' certificates (curl --cacert a bundle) looks them up by name
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"v2vchain node {secrets.token_hex(8)}")])
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=CERT_VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(private, hashes.SHA256())
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def pinned_url(base: str, fingerprint: str) -> str:
    return f"{base.rstrip('/')}{PIN}{fingerprint}"


def split_url(url: str) -> tuple[str, str | None]:
    """(the URL without its pin, the pinned fingerprint or None)."""
    base, marker, pin = url.partition(PIN)
    return base.rstrip("/"), (pin.lower() if marker else None)


class PinnedContext(ssl.SSLContext):
    """A client TLS context that accepts only the pinned certificates, by SHA-256 fingerprint, checked right after
    the handshake (which proves the server holds that certificate's key) and before the caller can send anything."""

    pins: frozenset[str]

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        wrapped = super().wrap_socket(*args, **kwargs)
        der = wrapped.getpeercert(binary_form=True) or b""
        seen = hashlib.sha256(der).hexdigest()
        if seen not in self.pins:
            wrapped.close()
            raise ssl.SSLCertVerificationError(f"certificate sha256 {seen} is not pinned")
        return wrapped


# A request's headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm holds the body back until
# the server's delayed ACK of the headers, ~40 ms a message.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


@lru_cache(maxsize=256)
def pinned_context(*pins: str) -> PinnedContext:
    context = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False  # the pin identifies the server, not a name a CA vouched for
    context.verify_mode = ssl.CERT_NONE
    context.pins = frozenset(pins)
    return context


def client_for(url: str, *, allow_plain: bool, timeout: float = 30) -> tuple[httpx.Client, str]:
    """An httpx client that reaches only the node `url` names, and the URL's base to put paths after.

    A pinned https URL gets a client that refuses any other certificate; plain http only with `allow_plain` (the
    node's explicit `transport: "plain-http"`); an https URL without a pin is refused (nothing to verify it by)."""
    base, pin = split_url(url)
    scheme = urlsplit(base).scheme
    if scheme == "https" and pin is not None:
        if len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin):
            raise UnpinnedPeer(f"{url[:200]!r}: the pin is not a SHA-256 fingerprint in hex")
        transport = httpx.HTTPTransport(verify=pinned_context(pin), socket_options=NODELAY)
        return httpx.Client(transport=transport, timeout=timeout), base
    if scheme == "http" and allow_plain:
        return httpx.Client(transport=httpx.HTTPTransport(socket_options=NODELAY), timeout=timeout), base
    if scheme == "http":
        raise UnpinnedPeer(
            f"{url[:200]!r} is plain HTTP: this node sends peer traffic over pinned TLS only "
            '(transport "plain-http" in its config would allow it)'
        )
    raise UnpinnedPeer(f"{url[:200]!r} is not a pinned node URL (https://host:port{PIN}<certificate sha256>)")
