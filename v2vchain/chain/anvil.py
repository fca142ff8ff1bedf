"""Runs the pinned anvil binary as a child process on a free loopback port, logs kept under the state dir."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from v2vchain.paths import ANVIL_BINARY, state_dir

from .errors import ChainUnavailable

# anvil's first well-known dev account (mnemonic "test test ... junk"): public knowledge, dev chains only.
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AnvilProcess:
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_anvil(*, chain_id: int = 31337, extra_args: tuple[str, ...] = (), timeout_s: float = 20.0) -> AnvilProcess:
    if not ANVIL_BINARY.exists():
        raise ChainUnavailable(f"anvil not found at {ANVIL_BINARY}: run `npm ci` (./dev does it for you)")
    port = free_port()
    log_path = state_dir() / "logs" / f"anvil-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(ANVIL_BINARY), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id), *extra_args]
    with open(log_path, "wb") as log:  # the child holds its own copy of the descriptor
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    anvil = AnvilProcess(port=port, log_path=log_path, process=process)
    w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 2}))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            anvil.stop()
            raise ChainUnavailable(f"anvil exited with code {process.returncode}; log: {log_path}")
        try:
            if w3.is_connected():
                return anvil
        except Exception:  # connection refused until anvil listens
            pass
        time.sleep(0.05)
    anvil.stop()
    raise ChainUnavailable(f"anvil did not answer on {anvil.url} within {timeout_s}s; log: {log_path}")
