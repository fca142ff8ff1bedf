"""One node's settings, read from a JSON file. Secrets (key password, API token) come only from the environment."""

from __future__ import annotations

import difflib
import json
import os
import re
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from v2vchain.deploy import Deployment
from v2vchain.errors import ConfigError, V2VError
from v2vchain.identity.did import address_of
from v2vchain.privacy import DEFAULT_EPSILON_PER_M

from .transport import fingerprint_of, pinned_url, split_url

PINNED_URL = re.compile(r"^https://[^#\s]+#sha256=[0-9a-f]{64}$")


class Strict(BaseModel):
    """Every config section refuses keys it does not know: a misspelt key would otherwise be ignored silently."""

    model_config = ConfigDict(extra="forbid")


class Position(Strict):
    """The vehicle's exact position: kept on this node, never published."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CloakSettings(Strict):
    """Default geo-indistinguishability (see v2vchain.privacy): it needs no knowledge of other vehicles."""

    method: Literal["k-anonymity", "planar-laplace"] = "planar-laplace"
    k: int = Field(default=5, ge=1, le=1000)
    epsilon_per_m: float = Field(default=DEFAULT_EPSILON_PER_M, gt=0)  # mean displacement 2/epsilon ~ 289 m
    # an order's route signs each stop's geohash cell at this precision (5: ~4.9 km x 4.9 km), never the position
    route_precision: int = Field(default=5, ge=1, le=8)


class PricingSettings(Strict):
    """The seller's floor: energy valued at the grid export price plus battery wear per Wh cycled (token units/Wh)."""

    grid_export_price_per_wh: int = Field(default=50, ge=0)
    degradation_per_wh: int = Field(default=20, ge=0)
    margin_per_wh: int = Field(default=5, ge=0)
    undercut_per_wh: int = Field(default=1, ge=1)
    shade_pct: int = Field(default=50, ge=0, le=100)  # sealed bids: how far above the floor toward the maximum


MECHANISM_NAMES = Literal[
    "double-auction-k",
    "mcafee-trade-reduction",
    "max-welfare-assignment",
    "gale-shapley-buyer-proposing",
    "gale-shapley-seller-proposing",
]


class OperatorSettings(Strict):
    """Present, the node is also a batch-clearing operator: it takes vehicles' signed orders at POST /p2p/orders and
    clears them every interval_s seconds (0: only when its owner calls POST /clearings/run)."""

    interval_s: int = Field(default=0, ge=0, le=86_400)
    mechanism: MECHANISM_NAMES = "double-auction-k"
    k: str = Field(default="1/2", pattern=r"^\d+(/\d+)?$")  # double auction: where the price splits the gap
    nearest_areas: int = Field(default=8, ge=1, le=1000)
    max_orders: int = Field(default=200, ge=2, le=10_000)
    # orders one owner may have waiting: a vehicle signing nonce after nonce cannot fill the store or the intervals
    max_pending_per_owner: int = Field(default=16, ge=1, le=1000)
    margin_s: int = Field(default=60, ge=0, le=86_400)  # an order expiring (or window ending) sooner waits out


class NodeConfig(Strict):
    name: str = Field(min_length=1, max_length=64)
    chain: str  # an http(s) JSON-RPC URL: nodes are separate processes, so they share a real chain
    deployment: Path
    keystore: Path
    credential: Path
    db: Path
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=1, le=65535)
    password_env: str = "V2V_KEY_PASSWORD"
    api_token_env: str = "V2V_API_TOKEN"
    position: Position
    cloak: CloakSettings = CloakSettings()
    pricing: PricingSettings = PricingSettings()
    peers: list[str] = []
    public_url: str = ""  # where other nodes reach this one; defaults to https://host:port (the pin is appended)
    # "tls" (the default): the API is served over TLS with the node's self-signed certificate, whose fingerprint its
    # URL carries, and peer traffic goes only to pinned https URLs. "plain-http" is an explicit opt-in that sends
    # sealed-bid prices, receipts and presentations in clear to anyone on the path (see README, "Transport").
    transport: Literal["tls", "plain-http"] = "tls"
    tls_cert: Path | None = None  # default: beside the database, <db>.tls-cert.pem (created at first start)
    tls_key: Path | None = None  # default: <db>.tls-key.pem, file mode 0600
    auto_bid: bool = False
    battery_capacity_wh: int = Field(default=80_000, gt=0)
    known_positions: list[Position] = []  # other vehicles seen nearby: the crowd k-anonymity hides in
    audit_db: Path | None = None  # an audit index (v2vchain.audit) this node keeps and serves at /dashboard
    operator: OperatorSettings | None = None  # this node also runs batch clearings
    operator_url: str = Field(default="", pattern=r"^(https?://.*)?$")  # where this vehicle sends its signed orders
    clearing_watch_s: int = Field(default=0, ge=0, le=86_400)  # how often the vehicle watches the clearings (0: off)
    audit_confirmations: int = Field(default=0, ge=0)  # the indexer undoes reorgs, so a live view may read the head

    @field_validator("chain")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("chain must be an http(s) JSON-RPC URL")
        return value

    @model_validator(mode="after")
    def _pinned_peers(self) -> NodeConfig:
        """With TLS, every peer this config names must carry its certificate pin: there is nothing else to check the
        peer by, and the node sends nothing to an unpinned URL."""
        if self.tls:
            named = [*((f"peers[{i}]", url) for i, url in enumerate(self.peers)), ("operator_url", self.operator_url)]
            for where, url in named:
                if url and not PINNED_URL.match(url):
                    raise ValueError(
                        f"{where} {url[:120]!r} is not a pinned node URL (https://host:port#sha256=<64 hex>, as "
                        '`v2v vehicle node-config` prints it); plain HTTP needs "transport": "plain-http"'
                    )
        return self

    @property
    def tls(self) -> bool:
        return self.transport == "tls"

    @property
    def tls_files(self) -> tuple[Path, Path]:
        """(certificate, private key) the node serves TLS with."""
        stem = self.db.with_suffix("")
        return (
            self.tls_cert or stem.with_name(f"{stem.name}.tls-cert.pem"),
            self.tls_key or stem.with_name(f"{stem.name}.tls-key.pem"),
        )

    @property
    def url(self) -> str:
        """Where other nodes reach this one: with TLS, https and the pin of this node's certificate, which must exist
        (`ensure_certificate` makes it at first start)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if not self.tls:
            return self.public_url or f"http://{host}:{self.port}"
        base, _ = split_url(self.public_url or f"https://{host}:{self.port}")
        cert = self.tls_files[0]
        if not cert.exists():
            raise ConfigError(f"the node's TLS certificate {cert} does not exist yet (`v2v node run` creates it)")
        return pinned_url(base, fingerprint_of(cert))


def load_config(path: str | Path) -> NodeConfig:
    try:
        return NodeConfig.model_validate(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        raise ConfigError(f"node config {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"node config {path} is not JSON: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ConfigError(f"node config {path}: {problems}") from None


def _problem(error: Any) -> str:
    where = ".".join(map(str, error["loc"]))
    if not where:  # a check over the whole config (it names the keys itself)
        return str(error["msg"]).removeprefix("Value error, ")
    if error["type"] != "extra_forbidden":
        return f"{where}: {error['msg']}"
    known = {
        name
        for model in (NodeConfig, Position, CloakSettings, PricingSettings, OperatorSettings)
        for name in model.model_fields
    }
    close = difflib.get_close_matches(str(error["loc"][-1]), sorted(known), n=1)
    return f"unknown key {where!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def check_before_unlock(config: NodeConfig) -> socket.socket:
    """What can be checked without the key: the deployment record, the credential file, the db folders, the port.

    Returns the listening socket, bound now so the port cannot be taken between this check and the server's start.
    """

    record = _json_file(config.deployment, "deployment")
    try:
        Deployment(**record)
    except TypeError as exc:
        raise ConfigError(
            f"deployment {config.deployment} is not a deployment record written by `v2v deploy` ({exc})"
        ) from None
    credential_subject(config)
    for key, db in (("db", config.db), ("audit_db", config.audit_db)):
        if db is not None:
            _writable(db, key)
    return listening_socket(config.host, config.port)


def listening_socket(host: str, port: int) -> socket.socket:
    """The node's socket, bound. Its protocol is IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on
    accepted sockets that say TCP, and without it every answer waited ~40 ms for the client's delayed ACK (Nagle)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} (host, port): {exc.strerror or exc}") from None
    return sock


def credential_subject(config: NodeConfig) -> str:
    """The address of the credential's subject (its credentialSubject.id, a did:pkh DID)."""

    vc = _json_file(config.credential, "credential")
    subject = vc.get("credentialSubject")
    try:
        return address_of(subject.get("id") if isinstance(subject, dict) else None)  # type: ignore[arg-type]  # address_of refuses a non-string with InvalidDid, which is the check wanted
    except V2VError:  # InvalidDid, or no DID at all
        raise ConfigError(
            f"credential {config.credential} has no did:pkh credentialSubject.id: is it a credential "
            f"from `v2v issuer issue`?"
        ) from None


def check_own_credential(config: NodeConfig, address: str) -> None:
    """A node serves only its own vehicle's credential: one issued to another key would fail every presentation."""
    subject = credential_subject(config)
    if subject.lower() != address.lower():
        raise ConfigError(
            f"credential {config.credential} was issued to {subject}, not to this node's key {address} "
            f"({config.keystore}): use the credential issued to this vehicle"
        )


def _json_file(path: Path, key: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{key}: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{key}: {path} cannot be read ({type(exc).__name__})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{key}: {path} is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: {path} holds a JSON {type(value).__name__}, not an object")
    return value


def _writable(db: Path, key: str) -> None:
    folder = db.parent
    if not folder.is_dir():
        raise ConfigError(f"{key}: the folder {folder} does not exist")
    if db.exists():
        if not db.is_file() or not os.access(db, os.R_OK | os.W_OK):
            raise ConfigError(f"{key}: {db} is not a file this node can read and write")
    elif not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}: the folder {folder} is not writable, so {db.name} cannot be created there")
