"""A commit is published in whatever encoding the Clearing accepted: the Clearing's decoder ignores a `bytes`
argument's padding and follows an offset into the head, eth_abi's strict one refuses both. An operator using either
must not make its commit unreadable: the index, the clearing audit, the order watch and the traders all rebuild a
clearing from its calldata."""

from __future__ import annotations

from tests.clearing.conftest import Desk
from tests.support.calldata import dirty_routes_padding, routes_at_the_header, send
from tests.support.desk import BUY, SELL
from tests.support.routes import trip
from v2vchain.audit.order_watch import watch
from v2vchain.audit.published import decode_commit, order_routes
from v2vchain.protocol.clearing import PreparedClearing


def routed(desk: Desk) -> PreparedClearing:
    """One trade between a routed buyer (its route 1 + 4 x 42 bytes: padded with 23 zeros) and a parked seller."""
    start = desk.chain.now() + 600
    end = start + 3_600
    buyer = desk.order(desk.buyers[0], BUY, start=start, end=end, route=trip(start, end, 4))
    seller = desk.order(desk.sellers[0], SELL, start=start, end=end)
    orders = [desk.sign(desk.buyers[0], buyer), desk.sign(desk.sellers[0], seller)]
    return desk.prepare(orders, desk.pairs(1)[1])


def test_a_commit_with_a_dirty_routes_padding_byte_is_published_with_its_routes(desk: Desk) -> None:
    prepared = routed(desk)
    send(desk.as_(desk.operator), dirty_routes_padding(desk.clearing, prepared))
    published = desk.clearing.published(prepared.clearing_id)
    assert published.routes == prepared.routes and published.trades == prepared.trades


def test_the_indexer_reads_a_commit_with_a_dirty_routes_padding_byte(desk: Desk) -> None:
    prepared = routed(desk)
    data = dirty_routes_padding(desk.clearing, prepared)
    call = decode_commit(desk.clearing.contract.abi, "0x" + data.hex())
    assert call is not None
    assert order_routes(call) == [
        None if o.order.route is None else "0x" + o.order.route.encode().hex() for o in prepared.orders
    ]


def test_a_commit_whose_empty_routes_point_into_the_header_is_published(desk: Desk) -> None:
    prepared = desk.prepare(*desk.pairs(1), params_hash=bytes(32))
    send(desk.as_(desk.operator), routes_at_the_header(desk.clearing, prepared))
    assert desk.clearing.published(prepared.clearing_id).trades == prepared.trades


def test_the_indexer_reads_a_commit_whose_empty_routes_point_into_the_header(desk: Desk) -> None:
    prepared = desk.prepare(*desk.pairs(1), params_hash=bytes(32))
    call = decode_commit(desk.clearing.contract.abi, "0x" + routes_at_the_header(desk.clearing, prepared).hex())
    assert call is not None and call["routes"] == "0x"


def test_the_order_watch_lists_a_commit_sent_with_a_dirty_routes_padding_byte(desk: Desk) -> None:
    prepared = routed(desk)
    send(desk.as_(desk.operator), dirty_routes_padding(desk.clearing, prepared))
    uses = watch(desk.clearing, desk.buyers[0].address)
    assert [(u.clearing_id, u.filled_wh) for u in uses] == [(prepared.clearing_id, prepared.trades[0].energy_wh)]
