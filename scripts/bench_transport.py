"""What the pinned TLS transport costs a node per peer message: `peer_request` (a fresh connection per message, as
the node sends them) to one FastAPI endpoint served by uvicorn in a child process, plain HTTP and pinned TLS in the
same run, alternating, so a busy machine slows both alike. No chain.

    .venv/bin/python scripts/bench_transport.py [--calls 300]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.errors import NodeError
from node.peers import peer_request
from node.transport import ensure_certificate, pinned_url
from v2vchain.chain.anvil import free_port

APP = textwrap.dedent(
    """
    from fastapi import FastAPI
    app = FastAPI()

    @app.post("/p2p/bids")
    def bid(body: dict) -> dict:
        return {"accepted": True}
    """
)
BODY = {"request_id": 7, "price_per_wh": 120, "signature": "0x" + "ab" * 65, "seller_url": "https://x" + "y" * 80}


def serve(folder: Path, port: int, tls: bool) -> subprocess.Popen[bytes]:
    args = ["--ssl-certfile", "cert.pem", "--ssl-keyfile", "key.pem"] if tls else []
    command = [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level", "warning", *args]
    return subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait(url: str, allow_plain: bool) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            peer_request("POST", url, "/p2p/bids", BODY, allow_plain=allow_plain, timeout=1)
            return
        except NodeError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not start") from None
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    n = parser.parse_args().calls
    with tempfile.TemporaryDirectory(prefix="v2v-transport-") as tmp:
        folder = Path(tmp)
        (folder / "app.py").write_text(APP)
        pin = ensure_certificate(folder / "cert.pem", folder / "key.pem", "127.0.0.1")
        plain_port, tls_port = free_port(), free_port()
        servers = [serve(folder, plain_port, tls=False), serve(folder, tls_port, tls=True)]
        try:
            urls = {
                "plain HTTP": f"http://127.0.0.1:{plain_port}",
                "pinned TLS": pinned_url(f"https://127.0.0.1:{tls_port}", pin),
            }
            for url in urls.values():
                wait(url, allow_plain=True)
            times: dict[str, list[float]] = {name: [] for name in urls}
            for _ in range(n):
                for name, url in urls.items():
                    start = time.perf_counter()
                    peer_request("POST", url, "/p2p/bids", BODY, allow_plain=True)
                    times[name].append(time.perf_counter() - start)
        finally:
            for server in servers:
                server.kill()
    print(f"{n} peer messages each, a new connection per message (as peer_request sends them), loopback")
    for name, samples in times.items():
        q = statistics.quantiles(samples, n=100)
        mean = 1000 * statistics.mean(samples)
        print(f"{name:<12} p50 {1000 * q[49]:6.2f} ms   p90 {1000 * q[89]:6.2f} ms   mean {mean:6.2f} ms")
    extra = statistics.median(times["pinned TLS"]) - statistics.median(times["plain HTTP"])
    print(f"tls_extra_ms_per_message_p50={1000 * extra:.2f}")


if __name__ == "__main__":
    main()
