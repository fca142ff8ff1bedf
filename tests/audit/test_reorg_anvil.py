"""On a real anvil: a reorganised chain is undone and re-read, confirmations hold back fresh blocks, and a node
that stops answering mid-range leaves an index the next run completes."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.audit import chain_logs, index, rows, specs_of
from tests.support.json_handler import JsonHandler
from tests.support.world import World, make_world
from v2vchain.audit.errors import RpcTimeout
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.reconcile import reconcile
from v2vchain.audit.rpc import HttpNode
from v2vchain.audit.store import Store
from v2vchain.chain.anvil import free_port
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import connect

pytestmark = pytest.mark.anvil


@pytest.fixture
def anvil_world(build: Build) -> Iterator[World]:
    with connect("anvil") as chain:
        yield make_world(chain, build)


def tx_hashes(db: Path | str) -> set[str]:
    """Every transaction the index holds an event of."""
    return {tx for _, _, tx, *_ in rows(db)}


def assert_index_equals_chain(world: World, db: Path | str, build: Build) -> None:
    """Nothing missing, nothing twice, nothing from an abandoned branch: exactly the node's own logs."""
    stored = rows(db)
    assert [(b, tx, li) for b, _, tx, li, *_ in stored] == chain_logs(world.chain, specs_of(world.system, build))
    with Store.open(db) as store:
        for number, block_hash in store.db.execute("SELECT number, hash FROM blocks"):
            assert block_hash == "0x" + bytes(world.chain.w3.eth.get_block(number)["hash"]).hex()


def test_a_reorganised_branch_is_replaced_by_the_new_one_without_duplicates(
    anvil_world: World, build: Build, where: str
) -> None:
    w, db, specs = anvil_world, where, specs_of(anvil_world.system, build)
    base = index(w.chain, specs, db).last
    snapshot = w.chain.snapshot()
    old = w.open_request(energy_wh=1_000)
    w.sellers[0].system.market.bid(old, 90)
    w.sellers[1].system.market.bid(old, 80)
    index(w.chain, specs, db)
    abandoned = {tx for block, _, tx, *_ in rows(db) if block > base}
    assert len(abandoned) == 3

    w.chain.revert(snapshot)
    new = w.open_request(energy_wh=2_000, max_price=120)  # one block: the new branch is shorter than the old
    report = index(w.chain, specs, db)
    assert report.reorgs == [(base, 4)]  # the old branch's RequestOpened, its Transfer and two BidPlaced
    assert_index_equals_chain(w, db, build)
    assert not abandoned & tx_hashes(db)

    w.sellers[2].system.market.bid(new, 100)
    w.sellers[0].system.market.bid(new, 95)
    w.chain.advance_time(60)
    assert index(w.chain, specs, db).reorgs == []
    assert_index_equals_chain(w, db, build)
    with Store.open(db) as store:
        ledger = Ledger.from_store(store)
        assert reconcile(ledger, store).ok
        assert sorted(ledger.requests) == [new] and [b.price for b in ledger.requests[new].bids] == [100, 95]
        assert store.reorgs()[0][0] == base


def test_blocks_younger_than_the_confirmations_are_never_indexed_so_a_shallow_reorg_goes_unseen(
    anvil_world: World, build: Build, tmp_path: Path
) -> None:
    w, db, specs = anvil_world, tmp_path / "confirmed.db", specs_of(anvil_world.system, build)
    snapshot = w.chain.snapshot()
    request_id = w.open_request()
    w.sellers[0].system.market.bid(request_id, 90)
    report = index(w.chain, specs, db, confirmations=2)
    assert report.last == w.chain.w3.eth.block_number - 2
    w.chain.revert(snapshot)
    w.open_request(energy_wh=3_000)
    w.chain.advance_time(60)
    w.chain.advance_time(60)
    assert index(w.chain, specs, db, confirmations=2).reorgs == []
    index(w.chain, specs, db)
    assert_index_equals_chain(w, db, build)


class Proxy:
    """A JSON-RPC proxy in front of anvil: `rule(call)` returns None to forward the call, "stall" to never answer,
    or the JSON to answer instead."""

    def __init__(self, upstream: str, rule: Callable[[Any], Any]) -> None:
        proxy = self
        self.seen: list[Any] = []

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                call = json.loads(body)
                proxy.seen.append(call)
                action = rule(call)
                if action == "stall":
                    time.sleep(1.5)  # longer than the client's timeout: it gives up first
                    return
                if action is None:
                    request = urllib.request.Request(upstream, body, {"Content-Type": "application/json"})
                    answer = urllib.request.urlopen(request, timeout=10).read()
                else:
                    answer = json.dumps(action).encode()
                self.send_json(answer)

            def handle(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_node_that_stops_answering_mid_range_leaves_an_index_the_next_run_completes(
    anvil_world: World, build: Build, tmp_path: Path
) -> None:
    w, db, specs = anvil_world, tmp_path / "stalled.db", specs_of(anvil_world.system, build)
    stall_from = w.chain.w3.eth.block_number - 10

    def stall(call: Any) -> str | None:
        is_logs = isinstance(call, dict) and call["method"] == "eth_getLogs"
        return "stall" if is_logs and int(call["params"][0]["toBlock"], 16) >= stall_from else None

    assert w.chain.anvil is not None
    with Proxy(w.chain.anvil.url, stall) as proxy, pytest.raises(RpcTimeout) as info:
        index(HttpNode(proxy.url, timeout_s=0.4), specs, db, batch_blocks=16)
    stalled = [c for c in proxy.seen if stall(c)]
    assert len(stalled) >= 2  # the range was halved and retried before giving up
    assert "no answer from http://127.0.0.1" in str(info.value)
    assert f"run the indexer again to resume from block {stall_from}" in str(info.value)
    with Store.open(db) as store:
        assert store.last_block() == stall_from - 1
    index(w.chain, specs, db, batch_blocks=16)
    assert_index_equals_chain(w, db, build)


def test_a_node_without_batch_requests_is_read_one_header_at_a_time(
    anvil_world: World, build: Build, tmp_path: Path
) -> None:
    w, db = anvil_world, tmp_path / "unbatched.db"
    refuse = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch requests are not supported"}}
    with Proxy(w.chain.anvil.url, lambda call: refuse if isinstance(call, list) else None) as proxy:
        index(HttpNode(proxy.url), specs_of(w.system, build), db)
    assert sum(isinstance(c, list) for c in proxy.seen) == 1  # tried once, then never again
    assert_index_equals_chain(w, db, build)
