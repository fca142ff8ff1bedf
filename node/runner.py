"""`v2v node run`: unlock the key, connect, recover from the chain, and serve the API with uvicorn."""
from __future__ import annotations

import os
from pathlib import Path

import uvicorn

from v2vchain.errors import ConfigError
from v2vchain.keystore import load_keystore

from .app import create_app
from .config import NodeConfig, load_config
from .service import VehicleNode


def build(config: NodeConfig) -> tuple[VehicleNode, str]:
    token = os.environ.get(config.api_token_env, "")
    if len(token) < 16:
        raise ConfigError(f"set {config.api_token_env} to the API bearer token (at least 16 characters)")
    account = load_keystore(config.keystore, password_env=config.password_env)
    return VehicleNode.start(config, account), token


def serve(config_path: str | Path) -> None:
    config = load_config(config_path)
    node, token = build(config)
    try:
        uvicorn.run(create_app(node, token), host=config.host, port=config.port, log_level="warning",
                    access_log=False)  # access logs would carry request paths; keep the node's logs quiet
    finally:
        node.close_resources()
