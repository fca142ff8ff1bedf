"""The node's sockets: what the event loop makes of the connections its listening socket accepts, and the chain
reads a burst of callers shares."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

from node.block_cache import BlockCache
from node.config import listening_socket


def test_connections_the_node_accepts_send_without_waiting_for_acks() -> None:
    """TCP_NODELAY on every accepted connection (asyncio sets it only when the listening socket says TCP): without
    it each answer written in two parts waited for the client's delayed ACK, ~40 ms a request."""
    sock = listening_socket("127.0.0.1", 0)
    sock.listen()
    seen: list[int] = []

    class Record(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def serve_once() -> None:
        server = await asyncio.get_running_loop().create_server(Record, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname())
            while not seen:
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(serve_once())
    assert seen == [1]


class _NoChain:
    """get() reads nothing from the chain itself: the callers' read functions do."""


def test_callers_missing_the_same_key_at_once_share_one_read() -> None:
    cache = BlockCache(_NoChain())  # type: ignore[arg-type]  # get() never touches the chain
    reads = 0
    start = threading.Barrier(8)

    def slow_read() -> int:
        nonlocal reads
        reads += 1
        time.sleep(0.2)  # long enough for every other caller to arrive and wait
        return 42

    answers: list[int] = []

    def caller() -> None:
        start.wait()
        answers.append(cache.get("open", slow_read))

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [42] * 8 and reads == 1
