"""A JSON-RPC endpoint on loopback that answers each method with a fixed result: a hostile or broken node."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def rpc_stub(results: dict[str, Any]) -> Iterator[str]:
    """Its URL while open; every call of a method in `results` answers that result, any other an error."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            call = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls = call if isinstance(call, list) else [call]
            answers = [
                {"jsonrpc": "2.0", "id": c["id"], "result": results[c["method"]]}
                if c["method"] in results
                else {"jsonrpc": "2.0", "id": c["id"], "error": {"code": -32601, "message": "no such method"}}
                for c in calls
            ]
            body = json.dumps(answers if isinstance(call, list) else answers[0]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
