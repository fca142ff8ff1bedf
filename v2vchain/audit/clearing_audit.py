"""`v2v audit clearing <id>`: a committed clearing checked from chain data alone.

From the commit's own calldata: do the published orders and trades hash to the committed roots; does every trade keep
its two orders' rules (sides, distinct owners, limits, energy summed over the clearing, overlapping windows; the
contract has already enforced these and every owner's signature, so a violation here means the audit and the contract
disagree); and, for the price-only mechanisms, is the trade list exactly what the named mechanism computes from the
published orders: what the contract cannot check is the operator's choice of orders and of the double auction's k.
Orders carry their cloaked area as a readable geohash cell (v2vchain.areas), so the cost-aware mechanisms, which
weigh the distances between the cells' centres, are recomputed from chain data too. A routed order's route is read
from the commit's `routes` argument (the contract checked it against the hash its owner signed, not its contents):
one that does not decode or leaves the order's window is a violation (audit/routes.py), and a clearing whose
routes all hold is recomputed with them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from v2vchain.contracts.clearing import ClearingClient
from v2vchain.matching import MECHANISMS, ClearingParams, Order
from v2vchain.matching.areas import geohash_centre
from v2vchain.matching.errors import InvalidArea
from v2vchain.matching.orders import Side
from v2vchain.protocol.areas import cell_of
from v2vchain.protocol.clearing import MECHANISM_IDS, PreparedClearing, params_hash

from .routes import RouteProblem, judge_route

NAMES = {v: k for k, v in MECHANISM_IDS.items()}


@dataclass
class ClearingAudit:
    clearing_id: int
    mechanism: str
    roots_match: bool
    violations: list[str] = field(default_factory=list)  # "trade i: the rule it breaks", "order k: route-..."
    recomputed: str = ""  # "identical", "differs: ...", or why it could not be recomputed

    @property
    def ok(self) -> bool:
        return self.roots_match and not self.violations and not self.recomputed.startswith("differs")

    def text(self) -> str:
        lines = [
            f"clearing {self.clearing_id}: mechanism {self.mechanism}",
            f"  committed roots match the published orders and trades: {'yes' if self.roots_match else 'NO'}",
        ]
        lines += [f"  VIOLATION {v}" for v in self.violations] or ["  every trade and route keeps its orders' rules"]
        lines.append(f"  recomputation: {self.recomputed}")
        return "\n".join(lines)


def rule_violations(p: PreparedClearing) -> list[str]:
    """Each trade checked against its two published orders, as the contract does."""
    found = []
    filled: dict[int, int] = defaultdict(int)
    for i, (x, t) in enumerate(zip(p.inputs, p.trades)):
        b, s = p.orders[x.buyer_order].order, p.orders[x.seller_order].order
        checks = [
            (b.side != Side.BUY or s.side != Side.SELL, "a trade must pair a buy order with a sell order"),
            (b.owner.lower() == s.owner.lower(), "buyer and seller are the same owner"),
            (
                x.price_per_wh > b.limit_price_per_wh,
                f"price {x.price_per_wh} above the buyer's limit {b.limit_price_per_wh}",
            ),
            (
                x.seller_price_per_wh < s.limit_price_per_wh,
                f"seller price {x.seller_price_per_wh} below the seller's limit {s.limit_price_per_wh}",
            ),
            (x.seller_price_per_wh > x.price_per_wh, "the seller receives more than the buyer pays"),
            (t.delivery_start_ts >= t.delivery_end_ts, "the two orders' time windows do not overlap"),
        ]
        found += [f"trade {i}: {why}" for broken, why in checks if broken]
        for index, order in ((x.buyer_order, b), (x.seller_order, s)):
            filled[index] += x.energy_wh
            if filled[index] > order.energy_wh:
                found.append(f"trade {i}: order {index} traded {filled[index]} Wh of its {order.energy_wh} Wh")
    return found


def route_problems(p: PreparedClearing) -> dict[int, RouteProblem]:
    """Each routed order's route judged from the published bytes, by order index."""
    judged = {
        k: judge_route(o.order.route_bytes, o.order.window_start_ts, o.order.window_end_ts)
        for k, o in enumerate(p.orders)
        if o.order.route_bytes
    }
    return {k: problem for k, problem in judged.items() if problem is not None}


def route_violations(p: PreparedClearing) -> list[str]:
    return [f"order {k}: {problem.rule}: {problem.why}" for k, problem in route_problems(p).items()]


def matching_order(signed: Any) -> Order:
    """A published order as the mechanisms read it: its area's geohash cell and that cell's centre, its route."""
    o = signed.order
    cell = cell_of(o.area_id)
    if not cell:
        raise InvalidArea(bytes(o.area_id).hex(), None, None, "not a readable geohash cell")
    lat, lon = geohash_centre(cell)
    return Order(
        owner=o.owner,
        side=Side(o.side),
        energy_wh=o.energy_wh,
        limit_price_per_wh=o.limit_price_per_wh,
        area_id=cell,
        area_lat=lat,
        area_lon=lon,
        window_start_ts=o.window_start_ts,
        window_end_ts=o.window_end_ts,
        nonce=o.nonce,
        expiry_ts=o.expiry_ts,
        route=o.route,
    )


def recompute(p: PreparedClearing, mechanism: str, params: ClearingParams) -> str:
    if mechanism not in MECHANISMS:
        return f"not possible: unknown mechanism {mechanism}"
    if params_hash(params) != p.params_hash:
        return "not possible: the committed parameters hash is not that of the parameters given (default: k = 1/2)"
    unreadable = [k for k, o in enumerate(p.orders) if not cell_of(o.order.area_id)]
    if unreadable:
        return f"not possible: order {unreadable[0]}'s area is not a readable geohash cell"
    bad_routes = route_problems(p)
    if bad_routes:
        k, problem = next(iter(bad_routes.items()))
        return f"not possible: order {k}'s route breaks {problem.rule}"
    result = MECHANISMS[mechanism]([matching_order(o) for o in p.orders], params)
    expected = sorted(
        (
            t.buyer.owner.lower(),
            t.buyer.nonce,
            t.seller.owner.lower(),
            t.seller.nonce,
            t.energy_wh,
            t.price_per_wh,
            t.seller_price_per_wh,
        )
        for t in result.trades
    )
    committed = sorted(
        (
            t.buyer.lower(),
            t.buyer_nonce,
            t.seller.lower(),
            t.seller_nonce,
            t.energy_wh,
            t.price_per_wh,
            t.seller_price_per_wh,
        )
        for t in p.trades
    )
    if expected == committed:
        return f"identical: {len(committed)} trades, as {mechanism} computes them from the published orders"
    missing = [t for t in expected if t not in committed]
    extra = [t for t in committed if t not in expected]
    return (
        f"differs: {len(extra)} committed trade(s) the mechanism does not produce, {len(missing)} it produces "
        f"that were not committed; first extra: {extra[:1]}, first missing: {missing[:1]}"
    )


def audit_clearing(
    client: ClearingClient, clearing_id: int, *, params: ClearingParams | None = None, from_block: int = 0
) -> ClearingAudit:
    prepared = client.published(clearing_id, from_block=from_block)
    mechanism = NAMES.get(prepared.mechanism_id, f"unknown id {prepared.mechanism_id}")
    roots_match = prepared.trades_root == client.trades_root(clearing_id)
    violations = rule_violations(prepared) + route_violations(prepared)
    audit = ClearingAudit(clearing_id, mechanism, roots_match, violations=violations)
    audit.recomputed = recompute(prepared, mechanism, params or ClearingParams())
    return audit
