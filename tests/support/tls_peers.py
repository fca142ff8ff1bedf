"""Peers a test runs in-process: an http.server handler served over TLS with its own self-signed certificate, so a
node reaches it at a pinned URL exactly as it reaches a real node; and a relay that records every byte it carries."""

from __future__ import annotations

import contextlib
import socket
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from node.transport import ensure_certificate, pinned_url


def serve_tls(handler: type[BaseHTTPRequestHandler]) -> tuple[HTTPServer, str]:
    """The running server and its pinned URL (stop it with `server.shutdown()`)."""
    server = HTTPServer(("127.0.0.1", 0), handler)
    folder = Path(tempfile.mkdtemp(prefix="v2v-peer-"))
    pin = ensure_certificate(folder / "cert.pem", folder / "key.pem", "127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, pinned_url(f"https://127.0.0.1:{server.server_address[1]}", pin)


class RecordingRelay:
    """A TCP relay on a loopback port to `target` (host, port) that keeps every byte each way: what anyone on the
    path between two nodes would see."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.seen = bytearray()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                with self.lock:
                    self.seen += chunk
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
