"""Node logic that needs no chain: the pricing floor, the records that survive a crash, the config file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from eth_account import Account

from node import pricing
from node.config import PricingSettings, load_config
from node.errors import OwnerLimitReached
from node.operator import fair_share
from node.peers import ENDPOINT_DOMAIN, check_listing, sign_listing
from node.store import Store
from node.timers import Timers
from v2vchain.errors import ConfigError
from v2vchain.protocol import eip712
from v2vchain.protocol.errors import BadSignature
from v2vchain.protocol.orders import ChainOrder, SignedOrder
from v2vchain.protocol.signatures import malleate


def test_a_sealed_bid_shades_between_the_floor_and_the_maximum() -> None:
    p = PricingSettings(grid_export_price_per_wh=50, degradation_per_wh=20, margin_per_wh=5, shade_pct=50)
    assert pricing.cost_floor_per_wh(p) == 75
    assert pricing.bid_price(p, max_price_per_wh=150) == 112


def test_no_bid_when_the_maximum_is_below_the_sellers_floor() -> None:
    p = PricingSettings(grid_export_price_per_wh=50, degradation_per_wh=20, margin_per_wh=5)
    assert pricing.bid_price(p, max_price_per_wh=74) is None


def test_an_open_auction_is_undercut_by_one_step_but_never_below_the_floor() -> None:
    p = PricingSettings(grid_export_price_per_wh=50, degradation_per_wh=20, margin_per_wh=5, undercut_per_wh=1)
    assert pricing.bid_price(p, max_price_per_wh=150, best_price_per_wh=100) == 99
    assert pricing.bid_price(p, max_price_per_wh=150, best_price_per_wh=75) is None


def test_signed_bids_survive_reopening_the_store_and_replays_are_detected(tmp_path: Path) -> None:
    bid = {
        "request_id": 1,
        "seller": "0xA",
        "nonce": 3,
        "price_per_wh": 90,
        "energy_wh": 10,
        "expiry_ts": 99,
        "signature": "00",
        "seller_url": "http://x",
    }
    store = Store(tmp_path / "node.sqlite")
    assert store.add_signed_bid(bid)
    store.close()
    reopened = Store(tmp_path / "node.sqlite")
    assert reopened.signed_bids(1)[0]["price_per_wh"] == 90
    assert not reopened.add_signed_bid(bid)


def test_bid_nonces_are_never_reused_and_respect_the_onchain_floor(tmp_path: Path) -> None:
    store = Store(tmp_path / "node.sqlite")
    assert [store.next_nonce(0), store.next_nonce(0), store.next_nonce(10), store.next_nonce(0)] == [0, 1, 10, 11]


def test_the_store_file_is_private_to_its_owner(tmp_path: Path) -> None:
    Store(tmp_path / "node.sqlite")
    assert (tmp_path / "node.sqlite").stat().st_mode & 0o077 == 0


def test_a_store_from_another_schema_version_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "node.sqlite")
    store.set_meta("schema_version", "0")
    store.close()
    with pytest.raises(ConfigError, match="schema version 0"):
        Store(tmp_path / "node.sqlite")


def test_a_config_with_a_bad_field_names_it(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    path.write_text(
        json.dumps(
            {
                "name": "x",
                "chain": "ftp://nope",
                "deployment": "d",
                "keystore": "k",
                "credential": "c",
                "db": "db",
                "position": {"lat": 95, "lon": 0},
            }
        )
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "chain" in str(info.value) and "position.lat" in str(info.value)


# ---------------------------------------------------------------- issue 14 item 10: signed request listings


def test_item10_a_listing_passes_only_when_signed_by_the_buyer_for_the_url_asked() -> None:

    buyer, other = Account.create(), Account.create()
    market, url = "0x" + "ab" * 20, "http://127.0.0.1:8701"
    domain = eip712.domain(ENDPOINT_DOMAIN, 31337, market)
    genuine = sign_listing(buyer, 31337, market, 7, url)
    check_listing(domain, 7, url, "0x" + genuine.hex(), buyer.address)
    check_listing(domain, 7, url, "0x" + genuine.hex(), buyer.address.lower())
    refused = [
        (7, "http://127.0.0.1:9", "0x" + genuine.hex(), buyer.address),  # replayed by another peer
        (8, url, "0x" + genuine.hex(), buyer.address),  # another request
        (7, url, "0x" + sign_listing(other, 31337, market, 7, url).hex(), buyer.address),  # a peer's own key
        (7, url, "0x" + malleate(genuine).hex(), buyer.address),  # high s
        (7, url, "0x" + genuine[:64].hex() + "00", buyer.address),  # v = 0
        (7, url, "0x" + sign_listing(buyer, 1, market, 7, url).hex(), buyer.address),  # another chain
        (7, url, "0x" + sign_listing(buyer, 31337, "0x" + "cd" * 20, 7, url).hex(), buyer.address),  # market
        (7, url, None, buyer.address),  # missing
        (7, url, "0xzz", buyer.address),  # not hex
        (7, url, "0x" + "00" * 65, buyer.address),  # zero
        (7, url, "0x" + genuine.hex(), "0x" + "00" * 20),  # no such request: the zero buyer
    ]
    for request_id, node_url, signature, expected in refused:
        with pytest.raises(BadSignature):
            check_listing(domain, request_id, node_url, signature, expected)


def test_collected_orders_survive_reopening_and_the_cut_leaves_late_ones_for_the_next_interval(tmp_path: Path) -> None:
    store = Store(tmp_path / "op.sqlite")
    owner = Account.create().address
    first = store.add_collected_order(owner, 1, {"nonce": 1}, "", max_pending=16)
    assert (
        first is not None
        and store.add_collected_order(owner.upper().replace("0X", "0x"), 1, {}, "", max_pending=16) is None
    )
    cut = store.last_order_seq()
    store.add_collected_order(owner, 2, {"nonce": 2}, "", max_pending=16)  # arrives after the cut
    assert [r["nonce"] for r in store.collected_orders(status="pending", up_to=cut)] == [1]
    store.mark_order(owner, 1, "used", clearing_id=2**200)
    store.close()
    reopened = Store(tmp_path / "op.sqlite")
    rows = {r["nonce"]: r for r in reopened.collected_orders()}
    assert rows[1]["status"] == "used" and int(rows[1]["clearing_id"]) == 2**200  # ids beyond SQLite's INTEGER
    assert rows[2]["status"] == "pending"


def test_an_operator_store_from_before_signed_urls_were_kept_gains_the_column_and_keeps_its_orders(
    tmp_path: Path,
) -> None:
    path = tmp_path / "op.sqlite"
    store = Store(path)
    owner = Account.create().address
    store.add_collected_order(owner, 1, {"nonce": 1}, "http://old.example", max_pending=16)
    store._db.execute("ALTER TABLE collected_orders DROP COLUMN endpoint_signature")  # the earlier schema
    store.close()
    reopened = Store(path)
    [kept] = reopened.collected_orders()
    assert (kept["nonce"], kept["node_url"], kept["endpoint_signature"]) == (1, "http://old.example", "")
    reopened.add_collected_order(owner, 2, {"nonce": 2}, "http://new.example", "0x" + "ab" * 65, max_pending=16)
    assert (reopened.collected_order(owner, 2) or {})["endpoint_signature"] == "0x" + "ab" * 65


def test_a_buyers_access_secret_for_a_cleared_trade_is_made_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "v.sqlite")
    first = store.keep_meeting_record(2**200, 3, "access_secret", {"access_secret": "aa"})
    again = store.keep_meeting_record(2**200, 3, "access_secret", {"access_secret": "bb"})
    assert first == again == {"access_secret": "aa"}
    assert store.meeting_record(2**200, 4, "access_secret") is None  # per trade


def test_order_nonces_are_never_reused_and_respect_the_clearings_floor(tmp_path: Path) -> None:
    store = Store(tmp_path / "v.sqlite")
    assert [store.next_order_nonce(0), store.next_order_nonce(0), store.next_order_nonce(10)] == [0, 1, 10]
    assert store.next_nonce(0) == 0  # the Market's bid nonces count apart


def test_the_timer_runs_each_task_on_its_period_and_survives_a_failing_one() -> None:
    ran = threading.Event()
    timers = Timers()
    timers.every("failing", 0.01, lambda: 1 / 0)
    timers.every("working", 0.01, ran.set)
    timers.every("off", 0, lambda: 1 / 0)  # period 0: never scheduled
    timers.start()
    try:
        assert ran.wait(timeout=60)
    finally:
        timers.stop()


def test_a_cleared_trades_receipt_is_only_ever_replaced_by_a_larger_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "node.sqlite")
    store.put_clearing_trade(7, 0, "seller", {"energy_wh": 1_000})
    assert store.put_clearing_receipt_if_larger(7, 0, 600, "0x01") == (True, 600)
    assert store.put_clearing_receipt_if_larger(7, 0, 400, "0x02") == (False, 600)
    assert store.put_clearing_receipt_if_larger(7, 0, 600, "0x03") == (False, 600)
    assert store.put_clearing_receipt_if_larger(7, 0, 900, "0x04") == (True, 900)
    assert store.clearing_trade(7, 0)["receipt"]["signature"] == "0x04"


def test_an_owner_holds_at_most_the_limit_of_waiting_orders_and_a_cleared_one_frees_a_place(tmp_path: Path) -> None:
    store = Store(tmp_path / "op.sqlite")
    flooder, other = Account.create().address, Account.create().address
    for nonce in range(3):
        assert store.add_collected_order(flooder, nonce, {"nonce": nonce}, "", max_pending=3) is not None
    with pytest.raises(OwnerLimitReached, match="already has 3 orders waiting") as refused:
        store.add_collected_order(flooder, 3, {"nonce": 3}, "", max_pending=3)
    assert refused.value.status == 429
    assert store.add_collected_order(other, 0, {"nonce": 0}, "", max_pending=3) is not None  # others unaffected
    store.mark_order(flooder, 0, "used", clearing_id=1)
    assert store.add_collected_order(flooder, 3, {"nonce": 3}, "", max_pending=3) is not None
    assert len(store.collected_orders(status="pending")) == 4  # the refused order left nothing behind


def _signed(owner: str, nonce: int) -> SignedOrder:
    order = ChainOrder(owner, 1, 1_000, 100, b"\x00" * 32, 0, 1, nonce, 2)
    return SignedOrder(order, b"\x00" * 65)


def test_an_interval_over_capacity_takes_every_owner_s_first_order_before_any_second() -> None:
    flooder, a, b = (Account.create().address for _ in range(3))
    orders = [_signed(flooder, n) for n in range(10)] + [_signed(a, 0), _signed(b, 0), _signed(a, 1)]
    chosen = [(o.order.owner, o.order.nonce) for o in fair_share(orders, 5)]
    assert chosen == [(flooder, 0), (a, 0), (b, 0), (flooder, 1), (a, 1)]
    assert [o.order.nonce for o in fair_share(orders, 100)][:3] == [0, 0, 0]
    assert len(fair_share(orders, 100)) == len(orders)


def test_a_received_bid_skips_the_fsync_but_every_other_write_stays_fully_synced(tmp_path: Path) -> None:
    """Only the peer's re-sendable bid is committed without an fsync; the connection is back to FULL right after,
    for the node's own intents, secrets and receipts."""
    store = Store(tmp_path / "node.sqlite")

    def synchronous() -> int:
        return int(store._db.execute("PRAGMA synchronous").fetchone()[0])

    assert synchronous() == 2  # FULL
    bid = {"request_id": 1, "seller": "0xA", "nonce": 3, "price_per_wh": 90, "energy_wh": 10, "expiry_ts": 99}
    assert store.put_seller_bid({**bid, "signature": "00", "seller_url": "http://x"}) is None
    assert synchronous() == 2
    store.close()
    assert Store(tmp_path / "node.sqlite").signed_bids(1)[0]["price_per_wh"] == 90
