"""Requests per second and latency of a live vehicle node, beside a bare FastAPI endpoint served the same way.

A real anvil, the contracts and node processes (a buyer and two sellers, as the node tests run them); a bare FastAPI
app in its own uvicorn process on loopback, over TLS as the nodes are. Each endpoint is driven by the same client:
CONCURRENCY threads with keep-alive connections, REQUESTS calls in all. The signed bids are made before the clock
starts: each is valid and accepted (each is a seller's first bid on its own request). Ratios are within one run, so
a busy machine slows both sides alike. Last line: valid_bids_over_bare=<ratio>.

    .venv/bin/python scripts/bench_node_load.py [--requests 400] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' fleet helper, not an installed module

from node.peers import bid_to_json, sign_endpoint
from node.transport import ensure_certificate, pinned_context
from tests.support.fleet_nodes import Fleet, key_of, running_fleet
from v2vchain.chain.anvil import free_port

# Headers and body leave in one segment: without it Nagle's algorithm holds a POST's body back for the server's
# delayed ACK (~40 ms a request), which measures the client, not the node.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

BARE_APP = textwrap.dedent(
    """
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, bool]:
        return {"ok": True}
    """
)


def drive(
    calls: list[Callable[[httpx.Client], httpx.Response]], concurrency: int, verify: Any = True
) -> tuple[float, list[float]]:
    """(requests per second, latencies in seconds) of the calls spread over `concurrency` threads, each on one
    kept-alive connection (`verify`: the nodes' pinned TLS context)."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    chunks = [calls[i::concurrency] for i in range(concurrency)]

    def worker(chunk: list[Callable[[httpx.Client], httpx.Response]]) -> None:
        transport = httpx.HTTPTransport(socket_options=NODELAY, verify=verify)
        with httpx.Client(timeout=60, transport=transport) as client:
            for call in chunk:
                start = time.perf_counter()
                response = call(client)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} calls failed, e.g. {failures[0]}")
    return len(calls) / wall, latencies


def report(name: str, rate: float, latencies: list[float]) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(f"{name:<34}{rate:>10.1f} req/s   p50 {1000 * q[49]:7.1f} ms   p99 {1000 * q[98]:7.1f} ms")


def valid_bids(fleet: Fleet, n: int) -> list[dict[str, Any]]:
    """n bids by seller-1, each the first on its own fresh request: each is accepted, in whatever order they arrive."""
    account = key_of(fleet, "seller-1")
    url = fleet.address("seller-1")
    market = fleet.system.market
    bodies = []
    for i in range(n):
        request = fleet.owner("buyer").post(
            "/requests", {"energy_wh": 1_000, "max_price_per_wh": 200, "bidding_s": 3_600}
        )
        bid = market.sign_bid(
            account,
            request_id=request["request_id"],
            price_per_wh=150,
            energy_wh=request["energy_wh"],
            nonce=1_000_000 + i,
            expiry_ts=request["deadline_ts"] + 3_600,
        )
        endpoint = sign_endpoint(account, fleet.chain.chain_id, market.address, bid, url)
        bodies.append({**bid_to_json(bid), "seller_url": url, "endpoint_signature": "0x" + endpoint.hex()})
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    n, c = args.requests, args.concurrency
    with tempfile.TemporaryDirectory(prefix="v2v-load-") as tmp:
        app = Path(tmp) / "bare_app.py"
        app.write_text(BARE_APP)
        port = free_port()
        pin = ensure_certificate(Path(tmp) / "cert.pem", Path(tmp) / "key.pem", "127.0.0.1")
        bare_tls = pinned_context(pin)  # served over TLS as the nodes are
        tls_args = ["--ssl-certfile", "cert.pem", "--ssl-keyfile", "key.pem"]
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--log-level", "warning", *tls_args],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            bare_url = f"https://127.0.0.1:{port}/bare"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(bare_url, timeout=1, verify=bare_tls)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the bare endpoint did not start") from None
                    time.sleep(0.1)
            with running_fleet(Path(tmp) / "fleet") as fleet:
                buyer = fleet.url("buyer")
                bodies = valid_bids(fleet, n)
                print(f"{n} requests per endpoint, {c} concurrent clients, one uvicorn worker each")
                bare_rate, bare_lat = drive([lambda cl: cl.get(bare_url)] * n, c, bare_tls)
                report("bare FastAPI GET /bare", bare_rate, bare_lat)
                tls = fleet.http.context
                rate, lat = drive([lambda cl: cl.get(f"{buyer}/identity")] * n, c, tls)
                report("node GET /identity", rate, lat)
                rate, lat = drive([lambda cl: cl.get(f"{buyer}/p2p/requests")] * n, c, tls)
                report("node GET /p2p/requests", rate, lat)
                bids_rate, lat = drive(
                    [lambda cl, body=body: cl.post(f"{buyer}/p2p/bids", json=body) for body in bodies], c, tls
                )
                report("node POST /p2p/bids (valid)", bids_rate, lat)
        finally:
            bare.kill()
    print(f"valid_bids_over_bare={bids_rate / bare_rate:.3f}")


if __name__ == "__main__":
    main()
