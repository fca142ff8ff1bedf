"""`v2v node run`: check the config, unlock the key, connect, recover from the chain, and serve the API with uvicorn."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import typer
import uvicorn

from node.api.app import create_app
from v2vchain.chain.clock import stale_head_warning
from v2vchain.errors import ConfigError
from v2vchain.identity.keystore import load_keystore

from .config import NodeConfig, check_before_unlock, check_own_credential, load_config
from .service import VehicleNode
from .transport import ensure_certificate


def build(config: NodeConfig) -> tuple[VehicleNode, str]:
    token = os.environ.get(config.api_token_env, "")
    if len(token) < 16:
        raise ConfigError(f"set {config.api_token_env} to the API bearer token (at least 16 characters)")
    if config.tls:
        ensure_certificate(*config.tls_files, config.host)  # first start: the node's key and certificate
    account = load_keystore(config.keystore, password_env=config.password_env)
    check_own_credential(config, account.address)
    return VehicleNode.start(config, account), token


def serve(config_path: str | Path) -> None:
    config = load_config(config_path)
    sock = check_before_unlock(config)  # deployment, credential, db folders and port, before the password is asked
    try:
        node, token = build(config)
    except BaseException:
        sock.close()
        raise
    timers = node.timers()
    try:
        cert, key = config.tls_files if config.tls else (None, None)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(node, token),
                host=config.host,
                port=config.port,
                log_level="warning",
                access_log=False,  # no request paths in logs
                ssl_certfile=cert,
                ssl_keyfile=key,
            )
        )
        sock.listen(socket.SOMAXCONN)  # connections queue from here on; uvicorn accepts them once it runs
        typer.echo(f"node {config.name} ({node.address}) listening on {config.url}")
        warning = stale_head_warning(node.chain.now(), int(time.time()))
        if warning:
            typer.echo(warning, err=True)
        timers.start()
        server.run(sockets=[sock])
    finally:
        timers.stop()
        sock.close()
        node.close_resources()
