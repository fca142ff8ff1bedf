"""A JSON-RPC endpoint on loopback that answers each method with a fixed result: a hostile or broken node."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

from .json_handler import JsonHandler


@contextmanager
def rpc_stub(results: dict[str, Any]) -> Iterator[str]:
    """Its URL while open; every call of a method in `results` answers that result, any other an error."""

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            call = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls = call if isinstance(call, list) else [call]
            answers = [
                {"jsonrpc": "2.0", "id": c["id"], "result": results[c["method"]]}
                if c["method"] in results
                else {"jsonrpc": "2.0", "id": c["id"], "error": {"code": -32601, "message": "no such method"}}
                for c in calls
            ]
            self.send_json(json.dumps(answers if isinstance(call, list) else answers[0]).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
