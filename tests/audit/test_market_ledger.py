"""The Market's configuration is read from its construction event, and every rule that depends on it (the penalty
rate, each request's deadline and window, the settlements that wait for a window's end plus grace, who may close in
the relay period) is found broken when the events are."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests.support.clearing_books import edited, retimed
from tests.support.market_books import MarketHistory, market_books_of, play
from tests.support.world import PARAMS, World, catch_up_with_the_clock
from v2vchain.audit.closers import closer_rows
from v2vchain.audit.ledger.market import MarketConfig, infer_penalty_bps
from v2vchain.audit.rpc import Log
from v2vchain.audit.store import Event
from v2vchain.chain.compiler import Build

GRACE, MAX_LEAD, MAX_WINDOW = PARAMS.grace_period_s, PARAMS.max_lead_time_s, PARAMS.max_delivery_window_s
STRANGER = "0x" + "11" * 20


@pytest.fixture(scope="module")
def history(_embedded_world: World, build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarketHistory]:
    """The world's history of every ending, played once for this module; the chain is rolled back after it."""
    chain = _embedded_world.chain
    catch_up_with_the_clock(chain)
    snapshot = chain.snapshot()
    try:
        yield play(_embedded_world, build, tmp_path_factory.mktemp("market-audit") / "index.db")
    finally:
        chain.revert(snapshot)


Pick = Callable[[Event], bool]


def is_(name: str, **args: object) -> Pick:
    return lambda e: e.event == name and all(e.args.get(k) == v for k, v in args.items())


def of(h: MarketHistory, name: str, key: str) -> Pick:
    """`name` events of the request that ended as `key` (see tests.support.market_books.history)."""
    return is_(name, requestId=h.ids[key])


def opened(h: MarketHistory, key: str) -> dict[str, int]:
    return {k: v for k, v in next(e for e in h.events if of(h, "RequestOpened", key)(e)).args.items()}


def award(h: MarketHistory, key: str) -> dict[str, object]:
    return next(e for e in h.events if of(h, "Awarded", key)(e)).args


def short(h: MarketHistory, key: str, less: int) -> list[Event]:
    """The buyer's full confirmation of `key` turned into one for `less` Wh fewer, settled at once."""
    energy, price = int(opened(h, key)["energyWh"]), int(str(award(h, key)["pricePerWh"]))
    delivered = energy - less
    return edited(h.events, of(h, "Settled", key), deliveredWh=delivered, paid=delivered * price, refund=less * price)


Case = Callable[[MarketHistory], list[Event]]
CASES: list[tuple[str, Case]] = [
    (
        "wrong-penalty",
        lambda h: edited(
            h.events, of(h, "Awarded", "confirmed"), penalty=int(str(award(h, "confirmed")["penalty"])) - 1
        ),
    ),
    ("wrong-penalty", lambda h: edited(h.events, is_("MarketConfigured"), penaltyBps=PARAMS.penalty_bps + 1)),
    ("reclaimed-early", lambda h: retimed(h.events, is_("Reclaimed"), opened(h, "reclaimed")["deliveryEnd"] - 1)),
    (
        "reclaimed-in-grace",
        lambda h: retimed(h.events, is_("Reclaimed"), opened(h, "reclaimed")["deliveryEnd"] + GRACE - 1),
    ),
    (
        "finalized-in-grace",
        lambda h: retimed(h.events, of(h, "Settled", "finalized"), opened(h, "finalized")["deliveryEnd"] + GRACE - 1),
    ),
    (
        "confirmed-after-grace",
        lambda h: retimed(
            h.events,
            of(h, "DeliveryConfirmed", "pending_confirmation"),
            opened(h, "pending_confirmation")["deliveryEnd"] + GRACE,
        ),
    ),
    (
        "wrong-final-from",
        lambda h: edited(
            h.events,
            of(h, "DeliveryConfirmed", "pending_confirmation"),
            finalFrom=opened(h, "pending_confirmation")["deliveryEnd"] + GRACE + 1,
        ),
    ),
    ("short-settled-in-grace", lambda h: short(h, "confirmed", 1_000)),
    (
        "claimed-before-window",
        lambda h: retimed(h.events, of(h, "Settled", "claimed"), opened(h, "claimed")["deliveryStart"] - 1),
    ),
    (
        "wrong-amount",  # the seller "finalizing" inside the grace period: a receipt not above the confirmation
        lambda h: retimed(
            edited(h.events, of(h, "Settled", "finalized"), settledBy=award(h, "finalized")["seller"]),
            of(h, "Settled", "finalized"),
            opened(h, "finalized")["deliveryEnd"] + GRACE - 1,
        ),
    ),
    ("bad-deadline", lambda h: retimed(h.events, of(h, "RequestOpened", "expired"), opened(h, "expired")["deadline"])),
    (
        "bad-deadline",
        lambda h: retimed(h.events, of(h, "RequestOpened", "expired"), opened(h, "expired")["deadline"] - MAX_LEAD - 1),
    ),
    (
        "bad-delivery-window",
        lambda h: edited(h.events, of(h, "RequestOpened", "open"), deliveryStart=opened(h, "open")["deadline"] - 1),
    ),
    (
        "bad-delivery-window",
        lambda h: edited(
            h.events,
            of(h, "RequestOpened", "open"),
            deliveryEnd=opened(h, "open")["deliveryStart"] + MAX_WINDOW + 1,
        ),
    ),
    ("closed-early", lambda h: retimed(h.events, of(h, "Expired", "expired"), opened(h, "expired")["deadline"] - 1)),
    ("closed-in-relay-period", lambda h: edited(h.events, of(h, "ClosedBy", "expired"), caller=STRANGER)),
]


def test_the_untampered_history_is_clean(history: MarketHistory) -> None:
    ledger = market_books_of(history, history.events)
    assert not ledger.violations and not ledger.warnings, ledger.violations


def test_the_penalty_rate_and_the_timing_come_from_the_markets_construction_event(history: MarketHistory) -> None:
    ledger = market_books_of(history, history.events)
    assert ledger.config == MarketConfig(PARAMS.penalty_bps, GRACE, MAX_LEAD, MAX_WINDOW, PARAMS.relay_period_s)
    assert ledger.penalty_bps == PARAMS.penalty_bps


@pytest.mark.parametrize(("rule", "tamper"), CASES, ids=[f"{rule}-{i}" for i, (rule, _) in enumerate(CASES)])
def test_a_tampered_history_breaks_its_rule(history: MarketHistory, rule: str, tamper: Case) -> None:
    ledger = market_books_of(history, tamper(history))
    assert rule in {f.rule for f in ledger.violations}, [(f.rule, f.message) for f in ledger.violations]


def test_the_seller_may_finalize_a_pending_confirmation_after_the_grace_period(history: MarketHistory) -> None:
    seller = award(history, "finalized")["seller"]
    ledger = market_books_of(history, edited(history.events, of(history, "Settled", "finalized"), settledBy=seller))
    assert not ledger.violations, ledger.violations


def test_a_market_deployed_before_its_configuration_event_still_balances_on_the_inferred_rate(
    history: MarketHistory,
) -> None:
    """No MarketConfigured: penaltyBps is inferred from the awards, and the timing rules go unchecked."""
    events = edited(history.events, is_("MarketConfigured"))
    ledger = market_books_of(history, events, penalty_bps=infer_penalty_bps(events))
    assert (ledger.config, ledger.penalty_bps) == (None, PARAMS.penalty_bps)
    assert not ledger.violations, ledger.violations


def test_the_index_names_the_caller_of_every_close(history: MarketHistory) -> None:
    closes = [int(e.args["requestId"]) for e in history.events if e.event in ("Awarded", "Expired")]
    callers = [(int(e.args["requestId"]), e.args["caller"]) for e in history.events if e.event == "ClosedBy"]
    buyer = opened(history, "confirmed")["buyer"]
    assert callers == [(rid, buyer) for rid in closes] and len(closes) == 9


def test_anyone_may_close_once_the_relay_period_is_over(history: MarketHistory) -> None:
    late = opened(history, "expired")["deadline"] + PARAMS.relay_period_s
    stranger = edited(history.events, of(history, "ClosedBy", "expired"), caller=STRANGER)
    ledger = market_books_of(history, retimed(stranger, of(history, "ClosedBy", "expired"), late))
    assert not ledger.violations, ledger.violations


def test_a_close_made_through_another_contract_gets_no_caller_row(history: MarketHistory) -> None:
    """Its msg.sender is the calling contract, which the transaction does not name: the close goes unjudged."""
    log = Log(history.addresses["Market"], (), "0x", 1, "0x01", "0x02", 0, 3)
    assert closer_rows(log, "Market", {"requestId": 1}, lambda tx: (STRANGER, "0x" + "22" * 20)) == []
    (row,) = closer_rows(log, "Market", {"requestId": 1}, lambda tx: (STRANGER, history.addresses["Market"]))
    assert (row[7], json.loads(row[8])) == ("ClosedBy", {"requestId": 1, "caller": STRANGER})
