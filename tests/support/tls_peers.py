"""Peers a test runs in-process: an http.server handler served over TLS with its own self-signed certificate, so a
node reaches it at a pinned URL exactly as it reaches a real node; and a relay that records every byte it carries."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from node.transport import ensure_certificate, pinned_url

from .json_handler import JsonHandler


def serve_tls(handler: type[BaseHTTPRequestHandler], server_class: type[HTTPServer] = HTTPServer) -> tuple[Any, str]:
    """The running server and its pinned URL (stop it with `server.shutdown()`)."""
    server = server_class(("127.0.0.1", 0), handler)
    folder = Path(tempfile.mkdtemp(prefix="v2v-peer-"))
    pin = ensure_certificate(folder / "cert.pem", folder / "key.pem", "127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, pinned_url(f"https://127.0.0.1:{server.server_address[1]}", pin)


class ListingPeer(HTTPServer):
    """A hostile peer: GET answers `listing` (a list of offers), every request that gets through TLS is recorded in
    `seen` as (method, path, body)."""

    listing: list[dict[str, Any]]
    seen: list[tuple[str, str, bytes]]
    url: str

    @property
    def posts(self) -> list[tuple[str, bytes]]:
        return [(path, body) for method, path, body in self.seen if method == "POST"]


class _ListingHandler(JsonHandler):
    server: ListingPeer

    def do_GET(self) -> None:
        self.server.seen.append(("GET", self.path, b""))
        self.send_json(json.dumps(self.server.listing).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append(("POST", self.path, self.rfile.read(length)))
        self.send_json(b'{"accepted": true}')


def serve_listing_peer() -> ListingPeer:
    server, url = serve_tls(_ListingHandler, ListingPeer)
    server.listing, server.seen, server.url = [], [], url
    assert isinstance(server, ListingPeer)
    return server


class AnsweringPeer(HTTPServer):
    """A hostile peer: every GET and POST is answered 200 with the same `answer`, written in 64 kB chunks without a
    Content-Length (so a client learns its size only by reading it)."""

    answer: bytes
    url: str


class _AnsweringHandler(JsonHandler):
    server: AnsweringPeer
    protocol_version = "HTTP/1.0"  # the body ends when the connection closes

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may stop reading: that is what is tested
            for start in range(0, len(self.server.answer), 65536):
                self.wfile.write(self.server.answer[start : start + 65536])


def serve_answering_peer(answer: bytes) -> AnsweringPeer:
    server, url = serve_tls(_AnsweringHandler, AnsweringPeer)
    server.answer, server.url = answer, url
    assert isinstance(server, AnsweringPeer)
    return server


class RecordingRelay:
    """A TCP relay on a loopback port to `target` (host, port) that keeps every byte each way: what anyone on the
    path between two nodes would see."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.seen = bytearray()
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:  # the node is not listening (yet): the client sees the connection close
                client.close()
                continue
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
