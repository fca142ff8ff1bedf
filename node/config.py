"""One node's settings, read from a JSON file. Secrets (key password, API token) come only from the environment."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from v2vchain.errors import ConfigError
from v2vchain.privacy import DEFAULT_EPSILON_PER_M


class Position(BaseModel):
    """The vehicle's exact position: kept on this node, never published."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CloakSettings(BaseModel):
    """Default geo-indistinguishability (see v2vchain.privacy): it needs no knowledge of other vehicles."""

    method: Literal["k-anonymity", "planar-laplace"] = "planar-laplace"
    k: int = Field(default=5, ge=1, le=1000)
    epsilon_per_m: float = Field(default=DEFAULT_EPSILON_PER_M, gt=0)  # mean displacement 2/epsilon ~ 289 m


class PricingSettings(BaseModel):
    """The seller's floor: energy valued at the grid export price plus battery wear per Wh cycled (token units/Wh)."""

    grid_export_price_per_wh: int = Field(default=50, ge=0)
    degradation_per_wh: int = Field(default=20, ge=0)
    margin_per_wh: int = Field(default=5, ge=0)
    undercut_per_wh: int = Field(default=1, ge=1)
    shade_pct: int = Field(default=50, ge=0, le=100)  # sealed bids: how far above the floor toward the maximum


class NodeConfig(BaseModel):
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
    public_url: str = ""  # where other nodes reach this one; defaults to http://host:port
    auto_bid: bool = False
    battery_capacity_wh: int = Field(default=80_000, gt=0)
    known_positions: list[Position] = []
    clearing_deployment: Path | None = None  # the batch Clearing's record: lets the node watch its own orders  # other vehicles seen nearby: the crowd k-anonymity hides in
    audit_db: Path | None = None  # an audit index (v2vchain.audit) this node keeps and serves at /dashboard
    audit_confirmations: int = Field(default=0, ge=0)  # the indexer undoes reorgs, so a live view may read the head

    @field_validator("chain")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("chain must be an http(s) JSON-RPC URL")
        return value

    @property
    def url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def load_config(path: str | Path) -> NodeConfig:
    try:
        return NodeConfig.model_validate(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        raise ConfigError(f"node config {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"node config {path} is not JSON: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"node config {path}: {problems}") from None
