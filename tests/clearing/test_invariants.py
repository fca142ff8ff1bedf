"""An adversarial operator against the Clearing, with a ghost model beside it.

The operators (two of them, racing) commit anything: orders listed twice, forged or re-signed by another key, stale
(already spent) orders, any prices, energies and mechanisms, another operator's id. Buyers confirm 0 Wh or reclaim
without cause, sellers claim with receipts, anyone settles batches. After every step: no account's free + locked has
fallen by more than its own signed orders allow (Wh filled x its limit price as buyer, the penalty of its opened
trades as seller), fills per (owner, nonce) never exceed the signed energy, the tokens are conserved, and every trade
closed at most once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from eth_account import Account as Keys
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.support.desk import BUY, SELL, Desk
from tests.support.world import catch_up_with_the_clock
from v2vchain.chain.errors import ContractRevert
from v2vchain.errors import InvalidInput
from v2vchain.protocol.clearing import PreparedClearing, TradeInput
from v2vchain.protocol.orders import SignedOrder

MAX_WH = 5_000


def machine(desk: Desk) -> type[RuleBasedStateMachine]:
    c = desk.clearing

    def raw(vehicle: Any) -> Any:  # no per-transaction books check: the invariants run after every step
        return c.connect(desk.chain.sender(vehicle.account))

    people = [*desk.buyers, *desk.sellers]

    class ClearingMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot = desk.chain.snapshot()
            self.start = {v.address: self.total(v.address) for v in desk.everyone}
            self.signed: dict[tuple[str, int], SignedOrder] = {}
            self.next_nonce: Counter[str] = Counter()
            self.filled: Counter[tuple[str, int]] = Counter()
            self.allowed: Counter[str] = Counter()  # the loss each account's own signatures allow
            self.open: dict[tuple[int, int], PreparedClearing] = {}
            self.closed: Counter[tuple[int, int]] = Counter()

        def teardown(self) -> None:
            desk.chain.revert(self.snapshot)

        def total(self, address: str) -> int:
            a = c.account(address)
            return a.free + a.locked

        def attempt(self, fn: Any) -> Any:
            try:
                return fn()
            except ContractRevert:
                return None  # a revert has no effect: the invariants below see the same books

        # ---------------------------------------------------------------- the adversarial operator
        def order(self, data: Any, vehicle: Any, side: int, lo: int = 40, hi: int = 160) -> SignedOrder:
            stale = [k for k in self.signed if k[0] == vehicle.address]
            if stale and data.draw(st.sampled_from([False, False, False, True]), label="reuse"):
                return self.signed[data.draw(st.sampled_from(sorted(stale)), label="stale")]
            nonce = self.next_nonce[vehicle.address]
            self.next_nonce[vehicle.address] += 1
            now = desk.chain.now()
            order = desk.order(
                vehicle,
                side,
                nonce=nonce,
                energy_wh=data.draw(st.integers(1, MAX_WH), label="wh"),
                limit=data.draw(st.integers(lo, hi), label="limit"),
                start=now + 60,
                end=now + 660,
                expiry=now + 600,
            )
            signed = desk.sign(vehicle, order)
            self.signed[(vehicle.address, nonce)] = signed
            return signed

        @initialize()
        def honest_start(self) -> None:
            """Three honest trades, so delivery has something to work on from the first step."""
            orders, trades = desk.pairs(3, energy_wh=MAX_WH)
            for o in orders:
                self.signed[(o.order.owner, 0)] = o
                self.next_nonce[o.order.owner] = 1
            prepared = desk.commit(orders, trades)
            for i, t in enumerate(prepared.trades):
                self.filled[(t.buyer, 0)] += t.energy_wh
                self.filled[(t.seller, 0)] += t.energy_wh
                self.allowed[t.buyer] += t.energy_wh * prepared.orders[t.buyer_order].order.limit_price_per_wh
                self.allowed[t.seller] += c.penalty_for(t.energy_wh, t.seller_price_per_wh)
                self.open[(prepared.clearing_id, i)] = prepared

        @rule(data=st.data())
        def commit(self, data: Any) -> None:
            operator = data.draw(st.sampled_from([desk.operator, desk.rival]), label="operator")
            n = data.draw(st.integers(1, 3), label="trades")
            bent = data.draw(st.sampled_from([False, False, True]), label="bent prices and energies")
            uniform = data.draw(st.integers(60, 140), label="price")
            orders: list[SignedOrder] = []
            trades = []
            for _ in range(n):
                b = data.draw(st.sampled_from(desk.buyers), label="buyer")
                s = data.draw(st.sampled_from(desk.sellers), label="seller")
                if bent:
                    orders += [self.order(data, b, BUY), self.order(data, s, SELL)]
                    price = data.draw(st.integers(30, 170), label="price")
                    seller_price = data.draw(st.sampled_from([price, max(1, price - 20)]), label="seller price")
                    energy = data.draw(st.integers(1, MAX_WH), label="energy")
                else:  # within both limits, at one price, no more than either order signed (unless it is stale)
                    orders += [self.order(data, b, BUY, uniform, 160), self.order(data, s, SELL, 40, uniform)]
                    price = seller_price = uniform
                    cap = min(orders[-2].order.energy_wh, orders[-1].order.energy_wh)
                    energy = data.draw(st.integers(1, cap), label="energy")
                trades.append(TradeInput(len(orders) - 2, len(orders) - 1, energy, price, seller_price))
            trick = data.draw(
                st.sampled_from(["none"] * 5 + ["duplicate", "forged", "resigned", "steal id"]), label="trick"
            )
            if trick == "duplicate":
                orders.append(orders[0])
                trades.append(
                    TradeInput(
                        len(orders) - 1, 1, trades[0].energy_wh, trades[0].price_per_wh, trades[0].seller_price_per_wh
                    )
                )
            elif trick in ("forged", "resigned"):
                k = data.draw(st.integers(0, len(orders) - 1), label="victim")
                key = (
                    Keys.create()
                    if trick == "forged"
                    else data.draw(st.sampled_from([v for v in people if v.address != orders[k].order.owner])).account
                )
                orders[k] = SignedOrder(orders[k].order, c.sign_order(key, orders[k].order).signature)
            client = raw(operator)
            other = desk.rival if operator is desk.operator else desk.operator
            mechanism = data.draw(st.integers(1, 5), label="mechanism")
            try:
                prepared = client.prepare(
                    orders,
                    trades,
                    mechanism_id=mechanism,
                    sort_orders=trick != "duplicate",
                    clearing_id=c.next_clearing_id(other.address) if trick == "steal id" else None,
                )
            except InvalidInput:
                return  # same (owner, nonce) drawn twice: the client refuses to list it twice
            receipt = self.attempt(lambda: client.commit(prepared))
            if receipt is None:
                return
            assert trick == "none", trick  # every trick is refused
            unfunded = {e["args"]["tradeIndex"] for e in client.events(receipt, "TradeUnfunded")}
            for i, t in enumerate(prepared.trades):
                if i in unfunded:
                    continue
                self.filled[(t.buyer, t.buyer_nonce)] += t.energy_wh
                self.filled[(t.seller, t.seller_nonce)] += t.energy_wh
                limit = prepared.orders[t.buyer_order].order.limit_price_per_wh
                self.allowed[t.buyer] += t.energy_wh * limit
                self.allowed[t.seller] += c.penalty_for(t.energy_wh, t.seller_price_per_wh)
                self.open[(prepared.clearing_id, i)] = prepared

        # ---------------------------------------------------------------- delivery, with and without cause
        def pick(self, data: Any) -> tuple[PreparedClearing, int] | None:
            if not self.open:
                return None
            key = data.draw(st.sampled_from(sorted(self.open)), label="trade")
            return self.open[key], key[1]

        def closed_by(self, receipt: Any) -> None:
            if receipt is None:
                return
            for e in c.events(receipt, "TradeClosed"):
                key = (e["args"]["clearingId"], e["args"]["tradeIndex"])
                self.closed[key] += 1
                self.open.pop(key, None)

        @rule(data=st.data())
        def buyer_confirms(self, data: Any) -> None:
            picked = self.pick(data)
            if picked:
                p, i = picked
                wh = data.draw(st.sampled_from([0, p.trades[i].energy_wh // 2, p.trades[i].energy_wh]))
                self.closed_by(self.attempt(lambda: raw(desk.buyer_of(p, i)).confirm_delivery(p, i, wh)))

        @rule(data=st.data())
        def seller_claims(self, data: Any) -> None:
            picked = self.pick(data)
            if picked:
                p, i = picked
                r = desk.receipt(p, i, data.draw(st.integers(0, p.trades[i].energy_wh), label="receipt wh"))
                seller = raw(desk.seller_of(p, i))
                self.closed_by(self.attempt(lambda: seller.claim_with_receipt(p, i, r.delivered_wh, r.signature)))

        @rule(data=st.data())
        def anyone_settles_a_batch(self, data: Any) -> None:
            picked = self.pick(data)
            if picked:
                p, _ = picked
                receipts = [desk.receipt(p, i) for (cid, i) in sorted(self.open) if cid == p.clearing_id]
                self.closed_by(self.attempt(lambda: raw(desk.outsider).settle_receipts(p, receipts)))

        @rule(data=st.data())
        def anyone_reclaims_or_finalizes(self, data: Any) -> None:
            picked = self.pick(data)
            if picked:
                p, i = picked
                who = raw(data.draw(st.sampled_from([desk.outsider, desk.buyer_of(p, i)]), label="who"))
                fn = data.draw(st.sampled_from(["reclaim", "finalize"]), label="fn")
                self.closed_by(self.attempt(lambda: getattr(who, fn)(p, i)))

        @rule(seconds=st.sampled_from([30, 700, 4_400]))
        def time_passes(self, seconds: int) -> None:
            desk.chain.advance_time(seconds)

        # ---------------------------------------------------------------- invariants
        @invariant()
        def tokens_are_conserved(self) -> None:
            desk.assert_books_balance()

        @invariant()
        def no_order_fills_beyond_its_signed_energy(self) -> None:
            for key, wh in self.filled.items():
                assert wh <= self.signed[key].order.energy_wh, key

        @invariant()
        def no_account_loses_more_than_its_signatures_allow(self) -> None:
            for v in desk.everyone:
                loss = self.start[v.address] - self.total(v.address)
                assert loss <= self.allowed[v.address], (v.name, loss, self.allowed[v.address])

        @invariant()
        def each_trade_closes_once(self) -> None:
            assert all(n == 1 for n in self.closed.values())

    return ClearingMachine


def test_an_adversarial_operator_never_takes_more_than_the_signatures_allow(_desk: Desk) -> None:

    catch_up_with_the_clock(_desk.chain)
    run_state_machine_as_test(
        machine(_desk),
        settings=settings(
            max_examples=10,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        ),
    )
