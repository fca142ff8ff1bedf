"""Stateful property test of the Market's books: a Foundry-style invariant handler, in Python.

Hypothesis drives random sequences of actions from many accounts (2 buyers, 3 sellers, a vehicle with both roles,
an unregistered outsider, and up to 3 vehicles onboarded mid-run with fresh keys, some unfunded): open, bid, close,
closeWithSignedBids, cancelSignedBids, confirmDelivery, claimWithReceipt, reclaim, depositStake, withdrawStake,
withdraw, the admin's pause and the issuer's revocations and re-registrations, and clock jumps across deadlines,
delivery starts and grace periods. Legal and illegal actions alike: wrong caller, wrong time, wrong status, prices
above the maximum or not below the best, zero amounts, amounts above what is free or owed, bad signatures.

A ghost model beside the contracts predicts every outcome: a legal action must succeed with exactly the ghost's
effect; an illegal one must revert with the predicted custom error (name asserted, and the key arguments) and
change nothing. After every step the whole state is read back from the chain's storage and compared with the
ghost, field by field, and the money invariants are checked on the chain's own numbers:

(a) token supply == the wallets of every account ever used + the market's balance;
(b) market balance == credits + stakes + escrow of open (energy x maxPrice) and awarded (energy x price) requests;
(c) each account's credit, stake and nonce floor equal the ghost's, so nobody can withdraw more than it is owed
    (the withdraw rule also checks that exactly the ghost credit arrives and the credit drops to zero);
(d) locked <= total for every stake (and locked == the penalties of the seller's best bids and awards).

Timing: eth-tester gives a transaction the pending block's timestamp but estimates its gas (where every revert here
is caught) on a fresh child of the latest block, stamped max(wall clock, latest + 1). The two agree while the chain
clock runs ahead of the wall clock, so the world is moved a day ahead before the snapshot every example starts from,
and every action is predicted at the pending block's timestamp.

Each action's outcome is recorded as a Hypothesis event ("bid: ok", "reclaim: TooEarly", ...) to judge coverage.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest
import solcx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from tests.conftest import AREA, PARAMS, STAKE, TOKENS, World, make_world
from v2vchain.chain import connect
from v2vchain.compiler import Build, find_compiler
from v2vchain.contracts.market import RequestStatus, SignedBid
from v2vchain.deploy import System
from v2vchain.devnet import GAS_MONEY_WEI, credential_for, onboard
from v2vchain.errors import ContractRevert
from v2vchain.identity import ROLE_BOTH, ROLE_BUYER, ROLE_SELLER, Credential
from v2vchain.paths import CONTRACTS_DIR

MAX_AMOUNT = 2**96 - 1
MAX_ENERGY = 1_000_000
BPS = 10_000
PENALTY_BPS = PARAMS.penalty_bps
GRACE = PARAMS.grace_period_s
MAX_LEAD = PARAMS.max_lead_time_s
MAX_WINDOW = PARAMS.max_delivery_window_s
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MAX_NEW_VEHICLES = 3
MAX_SIGNED_BIDS = 16
CHAIN_AHEAD_OF_WALL_S = 86_400

OPEN, AWARDED, SETTLED, EXPIRED, RECLAIMED = (RequestStatus.OPEN, RequestStatus.AWARDED, RequestStatus.SETTLED,
                                             RequestStatus.EXPIRED, RequestStatus.RECLAIMED)

def having(status: RequestStatus) -> Callable[[Any], bool]:
    """Precondition: some request is in `status`. The rule still also picks other and unknown ids (wrong status,
    UnknownRequest); this only keeps it from spending steps while nothing could succeed."""
    return lambda machine: any(r.status == status for r in machine.ghost.requests)


def penalty(energy: int, price: int) -> int:
    return energy * price * PENALTY_BPS // BPS


# ---------------------------------------------------------------------------------------------- the shared world


@dataclass(frozen=True)
class BaseActor:
    name: str
    account: LocalAccount
    system: System
    roles: int  # 0: never registered
    credential: Credential | None


@dataclass
class Bench:
    world: World
    issuer_system: System
    layouts: dict[str, Layout]
    actors: list[BaseActor]
    others: list[str]  # addresses outside the actors that could hold tokens (admin, issuer)


class Layout:
    """A contract's storage layout as solc reports it, to read variables, mapping entries and struct members."""

    def __init__(self, layout: dict[str, Any]) -> None:
        self.variables = {entry["label"]: entry for entry in layout["storage"]}
        self.types: dict[str, dict[str, Any]] = layout["types"]

    def slot(self, label: str, *keys: int) -> tuple[int, str]:
        """The slot and type of a variable, or of its entry under `keys` for a mapping."""
        entry = self.variables[label]
        slot, type_ = int(entry["slot"]), entry["type"]
        for key in keys:
            slot = int.from_bytes(keccak(key.to_bytes(32, "big") + slot.to_bytes(32, "big")), "big")
            type_ = self.types[type_]["value"]
        return slot, type_

    def decode(self, word: Callable[[int], int], slot: int, type_: str, offset: int = 0) -> Any:
        """A value type as an int, a struct as a dict of its members."""
        info = self.types[type_]
        if "members" in info:
            return {m["label"]: self.decode(word, slot + int(m["slot"]), m["type"], int(m["offset"]))
                    for m in info["members"]}
        return (word(slot) >> (8 * offset)) & ((1 << (8 * int(info["numberOfBytes"]))) - 1)


def storage_layouts() -> dict[str, Layout]:
    """Market's and EnergyToken's layouts from the project's pinned compiler (analysis only: no code generated)."""
    files = [CONTRACTS_DIR / "Market.sol", CONTRACTS_DIR / "EnergyToken.sol",
             *sorted((CONTRACTS_DIR / "lib").glob("*.sol"))]
    sources = {p.relative_to(CONTRACTS_DIR).as_posix(): {"content": p.read_text()} for p in files}
    selection = {"Market.sol": {"Market": ["storageLayout"]}, "EnergyToken.sol": {"EnergyToken": ["storageLayout"]}}
    output = solcx.compile_standard({"language": "Solidity", "sources": sources,
                                     "settings": {"outputSelection": selection}},
                                    solc_binary=find_compiler(), allow_empty=True)
    return {name: Layout(output["contracts"][f"{name}.sol"][name]["storageLayout"])
            for name in ("Market", "EnergyToken")}


class StateReader:
    """Storage words of the latest state, read from the embedded chain's EVM state without executing any code.

    eth-tester spends ~5 ms per eth_call (and an on-chain lens ~1 s in the Python EVM), which would dominate the
    run; this reads the same words eth_getStorageAt returns (cross-checked in check_with_library).
    """

    def __init__(self, w3: Any, address: str) -> None:
        self.backend = w3.provider.ethereum_tester.backend
        self.address = bytes.fromhex(address[2:])

    def words(self) -> Callable[[int], int]:
        state, cache = self.backend.chain.get_vm().state, {}

        def word(slot: int) -> int:
            if slot not in cache:
                cache[slot] = int(state.get_storage(self.address, slot))
            return cache[slot]

        return word


@pytest.fixture(scope="module")
def bench(build: Build) -> Iterator[Bench]:
    """One world for the whole module: 2 buyers, 3 sellers, 1 vehicle with both roles, 1 unregistered outsider."""
    chain = connect("embedded")
    world = make_world(chain, build)
    system = world.system
    buyer2 = onboard(system, world.issuer, "buyer2", ROLE_BUYER, tokens=TOKENS)
    both = onboard(system, world.issuer, "both", ROLE_BOTH, tokens=TOKENS, stake=STAKE)
    chain.fund(world.issuer.address, GAS_MONEY_WEI)  # the issuer revokes
    issuer_system = system.as_(chain.sender(world.issuer))
    layouts = storage_layouts()
    vehicles = [(world.buyer, ROLE_BUYER), (buyer2, ROLE_BUYER), *((s, ROLE_SELLER) for s in world.sellers),
                (both, ROLE_BOTH)]
    actors = [BaseActor(v.name, v.account, v.system, roles, v.credential) for v, roles in vehicles]
    actors.append(BaseActor("outsider", world.outsider.account, world.outsider.system, 0, None))
    # Keep the chain clock ahead of the wall clock (see the module docstring).
    chain.advance_time(max(1, int(time.time()) + CHAIN_AHEAD_OF_WALL_S - chain.now()))
    yield Bench(world, issuer_system, layouts, actors, others=[system.deployment.admin, world.issuer.address])
    chain.close()


# ---------------------------------------------------------------------------------------------- the ghost model


class Actor:
    """One account as the ghost sees it (a plain class: Hypothesis prints it by name)."""

    def __init__(self, name: str, account: LocalAccount, system: System, roles: int, credential: Credential | None,
                 approved: bool = True) -> None:
        self.name, self.account, self.system, self.roles, self.credential = name, account, system, roles, credential
        self.revoked = False
        self.approved = approved  # has approved the market to pull its tokens

    def __repr__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        return str(self.account.address)


class Req:
    def __init__(self, rid: int, buyer: Actor, energy: int, max_price: int, deadline: int, start: int,
                 end: int) -> None:
        self.rid, self.buyer, self.energy, self.max_price = rid, buyer, energy, max_price
        self.deadline, self.start, self.end = deadline, start, end
        self.status: RequestStatus = OPEN
        self.seller: Actor | None = None
        self.price = 0

    def __repr__(self) -> str:
        return f"#{self.rid}"

    @property
    def escrow(self) -> int:
        if self.status == OPEN:
            return self.energy * self.max_price
        if self.status == AWARDED:
            return self.energy * self.price
        return 0


Expected = tuple[str, dict[str, Any]] | None  # None: the action is legal and must succeed


@dataclass
class Ghost:
    wallet: dict[str, int]
    credit: dict[str, int]
    stake: dict[str, list[int]]  # [total, locked]
    min_nonce: dict[str, int]  # minBidNonce: signed bids below it are cancelled
    supply: int
    paused: bool = False
    requests: list[Req] = field(default_factory=list)

    def req(self, rid: int) -> Req | None:
        return self.requests[rid - 1] if 1 <= rid <= len(self.requests) else None

    def add_credit(self, address: str, amount: int) -> None:
        self.credit[address] += amount


class MarketMachine(RuleBasedStateMachine):
    bench: Bench  # set by the test before the machine runs

    # ------------------------------------------------------------------------------------------ set-up

    def __init__(self) -> None:
        """Each example starts from the same snapshot of the shared world, with a ghost read from it."""
        super().__init__()
        bench = self.bench
        self.world = bench.world
        self.chain = bench.world.chain
        self.w3 = self.chain.w3
        self.snapshot = self.chain.snapshot()
        self.market_words = StateReader(self.w3, self.world.system.market.address)
        self.token_words = StateReader(self.w3, self.world.system.token.address)
        self.actors = [Actor(a.name, a.account, a.system, a.roles, a.credential) for a in bench.actors]
        self.new_vehicles = 0
        assert self.chain.now() > time.time(), "the chain clock fell behind the wall clock: timing model broken"
        head, rows, reqs = self.read_chain(self.tracked())
        assert head[2] == 1 and not reqs, "the world's snapshot should hold no request"
        self.ghost = Ghost(
            wallet={a: r[0] for a, r in rows.items()}, credit={a: r[1] for a, r in rows.items()},
            stake={a: [r[2], r[3]] for a, r in rows.items()}, min_nonce={a: r[4] for a, r in rows.items()},
            supply=head[0], paused=bool(head[3]),
        )

    def teardown(self) -> None:
        if hasattr(self, "snapshot"):
            self.chain.revert(self.snapshot)

    # ------------------------------------------------------------------------------------------ helpers

    def tracked(self) -> list[str]:
        return [a.address for a in self.actors] + self.bench.others

    def now(self) -> int:
        """The timestamp the next transaction (and its gas estimate) runs at."""
        return int(self.w3.eth.get_block("pending")["timestamp"])

    def read_chain(self, accounts: list[str]) -> tuple[list[int], dict[str, list[int]], list[list[int]]]:
        """[supply, market balance, nextRequestId, paused], per account [wallet, credit, total, locked, minBidNonce],
        per request the fields of Market.Request in order (addresses as ints)."""
        market_layout, token_layout = self.bench.layouts["Market"], self.bench.layouts["EnergyToken"]
        m, t = self.market_words.words(), self.token_words.words()

        def read(layout: Layout, word: Callable[[int], int], label: str, *keys: int) -> Any:
            return layout.decode(word, *layout.slot(label, *keys))

        market_key = int(self.world.system.market.address, 16)
        head = [read(token_layout, t, "totalSupply"), read(token_layout, t, "balanceOf", market_key),
                read(market_layout, m, "nextRequestId"), read(market_layout, m, "paused")]
        rows = {}
        for a in accounts:
            key = int(a, 16)
            stake = read(market_layout, m, "stakes", key)
            rows[a] = [read(token_layout, t, "balanceOf", key), read(market_layout, m, "credit", key),
                       stake["total"], stake["locked"], read(market_layout, m, "minBidNonce", key)]
        reqs = [list(read(market_layout, m, "requests", rid).values()) for rid in range(1, head[2])]
        return head, rows, reqs

    def pick(self, data: st.DataObject, label: str, preferred: list[Any], everything: list[Any],
             weight: int = 1) -> Any:
        """One of `preferred` (weight to 1) or of `everything`."""
        pool: st.SearchStrategy[Any] = st.sampled_from(everything)
        if preferred:
            pool = st.one_of(*[st.sampled_from(preferred)] * weight, pool)
        return data.draw(pool, label=label)

    def pick_actor(self, data: st.DataObject, label: str, preferred: list[Actor] | None = None,
                   weight: int = 1) -> Actor:
        return self.pick(data, label, preferred or [], self.actors, weight)

    def pick_party(self, data: st.DataObject, label: str, party: Actor | None) -> Actor:
        """Usually the one party allowed to act (buyer or seller), sometimes anyone."""
        everything = st.sampled_from(self.actors)
        if party is None:
            return data.draw(everything, label=label)
        return data.draw(st.one_of(st.just(party), st.just(party), st.just(party), everything), label=label)

    def pick_rid(self, data: st.DataObject, status: RequestStatus, ready: Callable[[Req], bool] | None = None) -> int:
        """Mostly a request in `status` (`ready` ones first, if any), else any request, sometimes an unknown id."""
        n = len(self.ghost.requests)
        unknown = st.sampled_from([0, n + 1])
        if not n:
            return data.draw(unknown, label="request")
        preferred = [r.rid for r in self.ghost.requests if r.status == status]
        if ready is not None and any(ready(self.ghost.requests[rid - 1]) for rid in preferred):
            preferred = [rid for rid in preferred if ready(self.ghost.requests[rid - 1])]
        parts = [st.sampled_from(preferred)] * 3 if preferred else []
        return data.draw(st.one_of(*parts, st.integers(1, n), unknown), label="request")

    def with_role(self, role: int) -> list[Actor]:
        return [a for a in self.actors if a.roles & role and not a.revoked]

    def act(self, what: str, call: Callable[[], Any], expected: Expected) -> Any:
        """Legal: must succeed. Illegal: must revert with the predicted error (and arguments).

        `what` reads "caller.function(arguments)"; the outcome is counted for --hypothesis-show-statistics."""
        event(f"{what.split('(')[0].split('.', 1)[1]}: {'ok' if expected is None else expected[0]}")
        if expected is None:
            try:
                return call()
            except ContractRevert as exc:
                raise AssertionError(f"{what}: legal per the model, but reverted: {exc}") from None
        name, arguments = expected
        try:
            call()
        except ContractRevert as exc:
            assert exc.name == name, f"{what}: expected {name}{arguments}, got {exc}"
            for key, value in arguments.items():
                # By name; by value if the decoder knows the selector under other parameter names (another
                # contract's error with the same signature was registered last).
                got = exc.arguments[key] if key in exc.arguments else value if value in exc.arguments.values() else None
                assert got == value, f"{what}: {key}={got!r}, expected {value!r} in {exc}"
            return None
        raise AssertionError(f"{what}: expected to revert with {name}{arguments}, but it succeeded")

    def active_error(self, actor: Actor, role: int) -> Expected:
        """Registry.requireActive, as the ghost sees it (credentials last a year; no example runs that long)."""
        if actor.roles == 0:
            return ("NotRegistered", {"vehicle": actor.address})
        if actor.revoked:
            return ("CredentialRevoked", {"vehicle": actor.address})
        if actor.roles & role != role:
            return ("MissingRole", {"vehicle": actor.address, "required": role})
        return None

    def pull_error(self, actor: Actor, amount: int) -> Expected:
        """Market._pull: the token reverts on a missing allowance or balance; SafeTransfer reports it."""
        if not actor.approved or self.ghost.wallet[actor.address] < amount:
            return ("TokenTransferFailed", {"from": actor.address, "amount": amount})
        return None

    def status_error(self, rid: int, required: RequestStatus) -> Expected:
        r = self.ghost.req(rid)
        if r is None:
            return ("UnknownRequest", {"requestId": rid})
        if r.status != required:
            return ("WrongStatus", {"requestId": rid, "status": int(r.status), "required": int(required)})
        return None

    def settle(self, r: Req, delivered_wh: int) -> None:
        g, seller = self.ghost, r.seller
        assert seller is not None
        delivered = min(delivered_wh, r.energy)
        r.status = SETTLED
        g.stake[seller.address][1] -= penalty(r.energy, r.price)
        g.add_credit(seller.address, delivered * r.price)
        g.add_credit(r.buyer.address, (r.energy - delivered) * r.price)

    # ------------------------------------------------------------------------------------------ onboarding

    @precondition(lambda self: self.new_vehicles < MAX_NEW_VEHICLES)
    @rule(roles=st.sampled_from([ROLE_BUYER, ROLE_SELLER, ROLE_BOTH]), funded=st.booleans(), staked=st.booleans())
    def register(self, roles: int, funded: bool, staked: bool) -> None:
        """A new vehicle with a fresh key; unfunded ones have not approved the market either."""
        self.new_vehicles += 1
        tokens = TOKENS if funded else 0
        stake = STAKE if funded and staked and roles & ROLE_SELLER else 0
        name = f"new{self.new_vehicles}"
        vehicle = onboard(self.world.system, self.world.issuer, name, roles, tokens=tokens, stake=stake,
                          account=Account.create())
        actor = Actor(name, vehicle.account, vehicle.system, roles, vehicle.credential, approved=funded)
        self.actors.append(actor)
        g = self.ghost
        g.supply += tokens
        g.wallet[actor.address] = tokens - stake
        g.credit[actor.address] = 0
        g.stake[actor.address] = [stake, 0]
        g.min_nonce[actor.address] = 0

    @rule(data=st.data(), kind=st.sampled_from(["replay-credential", "register-again", "revoke", "revoke", "pause",
                                                 "unpause", "unpause"]))
    def govern(self, data: st.DataObject, kind: str) -> None:
        """The admin's and the issuer's actions (and others trying them): one rule, so that under Hypothesis's
        swarm testing they do not crowd out the trades."""
        if kind in ("replay-credential", "register-again"):
            self.register_again(data, kind == "replay-credential")
        elif kind == "revoke":
            self.revoke(data, data.draw(st.booleans(), label="by_issuer"))
        else:
            self.set_paused(data, kind == "pause", data.draw(st.booleans(), label="by_admin"))

    def register_again(self, data: st.DataObject, replay: bool) -> None:
        """Replaying a used credential, or a fresh one for a vehicle still active; a revoked one may re-register."""
        candidates = [a for a in self.actors if a.credential is not None]
        actor = self.pick_actor(data, "vehicle", candidates)
        if actor.credential is None:
            return  # the outsider stays unregistered
        registry = self.world.system.registry
        if replay:
            credential = actor.credential
            expected: Expected = ("CredentialAlreadyUsed", {})
        else:
            # A second longer than the onboarding credential, so never the same digest.
            credential = credential_for(self.world.system, self.world.issuer, actor.account, actor.roles,
                                        lifetime_s=365 * 86_400 + 1)
            expected = None if actor.revoked else ("VehicleAlreadyRegistered", {"vehicle": actor.address})
        self.act(f"{actor}.register(again)", lambda: registry.register(credential), expected)
        if expected is None:
            actor.revoked = False
            actor.credential = credential

    def revoke(self, data: st.DataObject, by_issuer: bool) -> None:
        """The issuer revokes only vehicles it onboarded in this example (or tries the unregistered outsider), so
        the base traders stay active; anyone else may try any vehicle."""
        caller = None if by_issuer else self.pick_actor(data, "caller")
        mine = [a for a in self.actors if a.name.startswith("new") or a.roles == 0]
        target = data.draw(st.sampled_from(mine), label="target") if caller is None else \
            self.pick_actor(data, "target")
        registry = (self.bench.issuer_system if caller is None else caller.system).registry
        caller_address = self.world.issuer.address if caller is None else caller.address
        if target.roles == 0:
            expected: Expected = ("NotRegistered", {"vehicle": target.address})
        elif caller is not None:
            expected = ("NotVehicleIssuer", {"caller": caller_address})
        elif target.revoked:
            expected = ("CredentialRevoked", {"vehicle": target.address})
        else:
            expected = None
        self.act(f"{caller or 'issuer'}.revoke({target})", lambda: registry.revoke(target.address), expected)
        if expected is None:
            target.revoked = True

    def set_paused(self, data: st.DataObject, paused: bool, by_admin: bool) -> None:
        caller = None if by_admin else self.pick_actor(data, "caller")
        market = (self.world.system if caller is None else caller.system).market
        expected: Expected = None if caller is None else ("NotAdmin", {"caller": caller.address})
        self.act(f"{caller or 'admin'}.setPaused({paused})", lambda: market.set_paused(paused), expected)
        if expected is None:
            self.ghost.paused = paused

    # ------------------------------------------------------------------------------------------ the auction

    def open_expected(self, caller: Actor, energy: int, price: int, deadline: int, start: int, end: int) -> Expected:
        ts = self.now()
        if self.ghost.paused:
            return ("MarketPaused", {})
        if (err := self.active_error(caller, ROLE_BUYER)) is not None:
            return err
        if energy == 0 or energy > MAX_ENERGY:
            return ("EnergyOutOfRange", {"energyWh": energy})
        if price == 0:
            return ("ZeroPrice", {})
        if energy * price > MAX_AMOUNT:
            return ("AmountTooLarge", {"amount": energy * price})
        if deadline <= ts or deadline > ts + MAX_LEAD:
            return ("BadDeadline", {"deadline": deadline, "nowTs": ts})
        if start < deadline or end <= start or start > deadline + MAX_LEAD or end - start > MAX_WINDOW:
            return ("BadDeliveryWindow", {"start": start, "end": end})
        return self.pull_error(caller, energy * price)

    def do_open(self, caller: Actor, energy: int, price: int, deadline: int, start: int, end: int) -> Req | None:
        expected = self.open_expected(caller, energy, price, deadline, start, end)
        what = f"{caller}.open(energy={energy}, maxPrice={price}, deadline={deadline}, start={start}, end={end})"
        rid = self.act(what, lambda: caller.system.market.open(
            energy_wh=energy, max_price_per_wh=price, deadline_ts=deadline, delivery_start_ts=start,
            delivery_end_ts=end, area_id=AREA, access_hash=keccak(b"access")), expected)
        if expected is None:
            g = self.ghost
            assert rid == len(g.requests) + 1, f"{what}: request id {rid}, expected {len(g.requests) + 1}"
            g.requests.append(Req(rid, caller, energy, price, deadline, start, end))
            g.wallet[caller.address] -= energy * price
            return g.requests[-1]
        return None

    def open_params(self, data: st.DataObject, flaw: str) -> tuple[int, int, int, int, int]:
        """(energy, maxPrice, deadline, start, end): legal ones, or one parameter at or just past its limit."""
        ts = self.now()
        energy = data.draw(st.sampled_from([1, 10, 1_000, 10_000, 100_000, MAX_ENERGY]), label="energyWh")
        price = data.draw(st.sampled_from([1, 7, 100, 1_000]), label="maxPrice")
        deadline = ts + data.draw(st.sampled_from([1, 60, 600, 3_600]), label="bidding_s")
        lead = data.draw(st.sampled_from([0, 300]), label="lead_s")
        window = data.draw(st.sampled_from([1, 3_600]), label="window_s")
        if flaw in ("energy=0", "energy=max+1"):
            energy = 0 if flaw == "energy=0" else MAX_ENERGY + 1
        elif flaw == "price=0":
            price = 0
        elif flaw == "escrow>uint96":
            energy, price = 2, MAX_AMOUNT // 2 + 1
        elif flaw == "escrow>wallet":
            energy, price = MAX_ENERGY, 10_000
        elif flaw.startswith("deadline="):
            deadline = {"deadline=now": ts, "deadline=now-1": ts - 1, "deadline=max": ts + MAX_LEAD,
                        "deadline=max+1": ts + MAX_LEAD + 1}[flaw]
        elif flaw.startswith("start"):
            lead = {"start<deadline": -1, "start=max": MAX_LEAD, "start=max+1": MAX_LEAD + 1}[flaw]
        elif flaw.startswith("window") or flaw == "end=start":
            window = {"end=start": 0, "window=max": MAX_WINDOW, "window=max+1": MAX_WINDOW + 1}[flaw]
        return energy, price, deadline, deadline + lead, deadline + lead + window

    @initialize(data=st.data(), stages=st.lists(
        st.sampled_from(["open", "bid", "awarded", "awarded", "awarded", "expired"]), min_size=1, max_size=5))
    def start_auctions(self, data: st.DataObject, stages: list[str]) -> None:
        """Most examples start with a few requests at random stages (through the same checked actions as the
        rules), so settlement is reached within the step budget."""
        short: list[Req] = []
        for stage in stages:
            caller = data.draw(st.sampled_from(self.with_role(ROLE_BUYER)), label="buyer")
            energy, price, _, _, _ = self.open_params(data, "none")
            deadline = self.now() + (3_600 if stage in ("open", "bid") else 120)
            lead = data.draw(st.sampled_from([0, 300]), label="lead_s")
            r = self.do_open(caller, energy, price, deadline, deadline + lead, deadline + lead + 3_600)
            if r is None:  # legal-looking but unaffordable (1 MWh at the top price is a whole wallet)
                continue
            if stage != "open":
                short += [r] if stage != "bid" else []
            if stage in ("bid", "awarded"):
                sellers = [a for a in self.with_role(ROLE_SELLER) if a is not caller]
                seller = data.draw(st.sampled_from(sellers), label="seller")
                price = data.draw(st.integers(1, r.max_price), label="price")
                self.bid_as(seller, r.rid, price)
        if short:
            self.move_to(max(r.deadline for r in short))
            for r in short:
                self.close_as(self.actors[-1], r.rid)
            then = data.draw(st.sampled_from(["stay", "stay", "delivery", "grace"]), label="then")
            if then != "stay":  # into the delivery windows, or past them and the grace period
                ts = max(r.start if then == "delivery" else r.end + GRACE for r in short)
                if ts > self.now():
                    self.move_to(ts)

    @rule(data=st.data(), flaw=st.sampled_from(["none"] * 8 + [
        "energy=0", "energy=max+1", "price=0", "escrow>uint96", "escrow>wallet", "deadline=now", "deadline=now-1",
        "deadline=max", "deadline=max+1", "start<deadline", "start=max", "start=max+1", "end=start",
        "window=max", "window=max+1"]))
    def open(self, data: st.DataObject, flaw: str) -> None:
        caller = self.pick_actor(data, "caller", self.with_role(ROLE_BUYER))
        self.do_open(caller, *self.open_params(data, flaw))

    def check_bid_error(self, r: Req, seller: Actor, price: int) -> Expected:
        """Market._checkBid: a registered seller other than the buyer, a price in 1..maxPrice."""
        if (err := self.active_error(seller, ROLE_SELLER)) is not None:
            return err
        if seller is r.buyer:
            return ("SelfBid", {"requestId": r.rid, "buyer": seller.address})
        if price == 0:
            return ("ZeroPrice", {})
        if price > r.max_price:
            return ("BidAboveMax", {"price": price, "maxPrice": r.max_price})
        return None

    def take_best_error(self, r: Req, seller: Actor, price: int) -> Expected:
        """Market._takeBest: the displaced best bid's lock is released before the new bidder's free stake is read."""
        released = penalty(r.energy, r.price) if r.seller is seller else 0
        total, locked = self.ghost.stake[seller.address]
        free, needed = total - (locked - released), penalty(r.energy, price)
        if free < needed:
            return ("InsufficientFreeStake", {"seller": seller.address, "free": free, "needed": needed})
        return None

    def take_best(self, r: Req, seller: Actor, price: int) -> None:
        g = self.ghost
        if r.seller is not None:
            g.stake[r.seller.address][1] -= penalty(r.energy, r.price)
        g.stake[seller.address][1] += penalty(r.energy, price)
        r.seller, r.price = seller, price

    def close_request(self, r: Req) -> None:
        """Market._close: award the best bid (the rest of the escrow back), or expire with a full refund."""
        if r.seller is None:
            r.status = EXPIRED
            self.ghost.add_credit(r.buyer.address, r.energy * r.max_price)
        else:
            r.status = AWARDED
            self.ghost.add_credit(r.buyer.address, r.energy * (r.max_price - r.price))

    def bid_price(self, data: st.DataObject, r: Req | None, kind: str) -> int:
        max_price = r.max_price if r else 100
        best = r.price if r and r.seller else max_price + 1
        price = {
            "undercut": max(1, min(best - 1, max_price) * 9 // 10), "best-1": best - 1, "best": best,
            "max": max_price, "max+1": max_price + 1, "1": 1, "0": 0,
        }.get(kind)
        if price is None:
            price = data.draw(st.integers(1, max_price), label="price")
        return min(max(price, 0), MAX_AMOUNT)

    @precondition(having(OPEN))
    @rule(data=st.data(), kind=st.sampled_from(["undercut", "best-1", "best", "max", "max+1", "1", "0", "any"]))
    def bid(self, data: st.DataObject, kind: str) -> None:
        caller = self.pick_actor(data, "caller", self.with_role(ROLE_SELLER))
        rid = self.pick_rid(data, OPEN)
        self.bid_as(caller, rid, self.bid_price(data, self.ghost.req(rid), kind))

    def bid_as(self, caller: Actor, rid: int, price: int) -> None:
        r = self.ghost.req(rid)
        ts = self.now()
        expected: Expected
        if self.ghost.paused:
            expected = ("MarketPaused", {})
        elif (expected := self.status_error(rid, OPEN)) is not None:
            pass
        elif r is None:
            raise AssertionError("unreachable")
        elif ts >= r.deadline:
            expected = ("BiddingClosed", {"requestId": rid, "deadline": r.deadline, "nowTs": ts})
        elif (expected := self.check_bid_error(r, caller, price)) is not None:
            pass
        elif r.seller is not None and price >= r.price:
            expected = ("BidNotLower", {"price": price, "bestPrice": r.price})
        else:
            expected = self.take_best_error(r, caller, price)
        self.act(f"{caller}.bid(#{rid}, {price}) at {ts}", lambda: caller.system.market.bid(rid, price), expected)
        if expected is None:
            assert r is not None
            self.take_best(r, caller, price)

    @precondition(having(OPEN))
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        self.close_as(self.pick_actor(data, "caller"), self.pick_rid(data, OPEN, self.past_deadline))  # anyone

    def past_deadline(self, r: Req) -> bool:
        return self.now() >= r.deadline

    def close_as(self, caller: Actor, rid: int) -> None:
        r = self.ghost.req(rid)
        ts = self.now()
        expected = self.status_error(rid, OPEN)
        if expected is None and r is not None and ts < r.deadline:
            expected = ("BiddingStillOpen", {"requestId": rid, "deadline": r.deadline, "nowTs": ts})
        self.act(f"{caller}.close(#{rid}) at {ts}", lambda: caller.system.market.close(rid), expected)
        if expected is None:
            assert r is not None
            self.close_request(r)

    @precondition(having(OPEN))
    @rule(data=st.data(), count=st.sampled_from([0, 1, 1, 1, 2, 2, 2, 3, 3, MAX_SIGNED_BIDS + 1]))
    def close_with_signed_bids(self, data: st.DataObject, count: int) -> None:
        """Anyone relays sellers' gasless bids at close; each is checked, the lowest (on-chain first on ties) wins."""
        g = self.ghost
        caller = self.pick_actor(data, "caller")
        rid = self.pick_rid(data, OPEN, self.past_deadline)
        r = g.req(rid)
        ts = self.now()
        market = caller.system.market
        bids: list[SignedBid] = []
        flaws: list[tuple[Actor, str]] = []
        for i in range(count):
            seller = self.pick_actor(data, f"seller{i}", self.with_role(ROLE_SELLER), weight=4)
            flaw = data.draw(st.sampled_from(["none"] * 10 + ["expired", "at-expiry", "cancelled", "energy",
                                                              "signer"]), label=f"flaw{i}")
            price = self.bid_price(data, r, data.draw(st.sampled_from(
                ["undercut", "best-1", "any"] * 3 + ["best", "max", "max+1", "0"]), label=f"kind{i}"))
            min_nonce = g.min_nonce[seller.address]
            nonce = min_nonce - 1 if flaw == "cancelled" and min_nonce else min_nonce + (count - i)
            expiry = {"expired": ts - 1, "at-expiry": ts}.get(flaw, ts + 600)
            energy = (r.energy if r else 1_000) + (1 if flaw == "energy" else 0)
            signer = self.actors[0] if flaw == "signer" and seller is not self.actors[0] else \
                self.actors[1] if flaw == "signer" else seller
            signed = market.sign_bid(signer.account, request_id=rid, price_per_wh=price, energy_wh=energy,
                                     nonce=nonce, expiry_ts=expiry)
            bids.append(dataclasses.replace(signed, seller=seller.address))
            flaws.append((seller, flaw))
        expected: Expected = None
        winner: tuple[Actor, int] | None = None
        if g.paused:  # relayed bids are bids: the pause stops them too (close() still works)
            expected = ("MarketPaused", {})
        elif count > MAX_SIGNED_BIDS:
            expected = ("TooManyBids", {"count": count, "max": MAX_SIGNED_BIDS})
        elif (expected := self.status_error(rid, OPEN)) is not None:
            pass
        elif r is None:
            raise AssertionError("unreachable")
        elif ts < r.deadline:
            expected = ("BiddingStillOpen", {"requestId": rid, "deadline": r.deadline, "nowTs": ts})
        else:
            best = r.price if r.seller is not None else MAX_AMOUNT
            for i, (b, (seller, flaw)) in enumerate(zip(bids, flaws)):
                if ts > b.expiry_ts:
                    expected = ("SignedBidExpired", {"index": i, "expiry": b.expiry_ts, "nowTs": ts})
                elif b.nonce < g.min_nonce[seller.address]:
                    expected = ("SignedBidCancelled", {"index": i, "nonce": b.nonce})
                elif b.energy_wh != r.energy:
                    expected = ("SignedBidEnergyMismatch", {"index": i, "energyWh": b.energy_wh})
                elif flaw == "signer":
                    expected = ("SignedBidNotBySeller", {"index": i, "seller": seller.address})
                else:
                    expected = self.check_bid_error(r, seller, b.price_per_wh)
                if expected is not None:
                    break
                if b.price_per_wh < best:
                    best, winner = b.price_per_wh, (seller, b.price_per_wh)
            if expected is None and winner is not None:
                expected = self.take_best_error(r, *winner)
        what = f"{caller}.closeWithSignedBids(#{rid}, {[(s, f, b.price_per_wh) for (s, f), b in zip(flaws, bids)]}) " \
               f"at {ts}"
        self.act(what, lambda: market.close_with_signed_bids(rid, bids), expected)
        if expected is None:
            assert r is not None
            if winner is not None:
                self.take_best(r, *winner)
            self.close_request(r)

    def cancel_signed_bids(self, data: st.DataObject, step: int) -> None:
        """Raising the nonce floor voids a seller's outstanding signed bids; it can only go up."""
        caller = self.pick_actor(data, "caller", self.with_role(ROLE_SELLER))
        current = self.ghost.min_nonce[caller.address]
        new = current + step
        expected: Expected = None
        if new <= current:
            expected = ("SignedBidCancelled", {"index": 0, "nonce": new, "minNonce": current})
        self.act(f"{caller}.cancelSignedBids({new})", lambda: caller.system.market.cancel_signed_bids(new), expected)
        if expected is None:
            self.ghost.min_nonce[caller.address] = new

    # ------------------------------------------------------------------------------------------ settlement

    def delivered(self, data: st.DataObject, r: Req | None) -> int:
        energy = r.energy if r else 1_000
        return data.draw(st.sampled_from([0, 1, energy // 2, energy - 1, energy, energy + 1, 2**64 - 1]),
                         label="deliveredWh")

    @precondition(having(AWARDED))
    @rule(data=st.data())
    def confirm_delivery(self, data: st.DataObject) -> None:
        rid = self.pick_rid(data, AWARDED)
        r = self.ghost.req(rid)
        caller = self.pick_party(data, "caller", r.buyer if r else None)
        delivered = self.delivered(data, r)
        expected = self.status_error(rid, AWARDED)
        if expected is None and r is not None and caller is not r.buyer:
            expected = ("NotBuyer", {"caller": caller.address, "buyer": r.buyer.address})
        self.act(f"{caller}.confirmDelivery(#{rid}, {delivered})",
                 lambda: caller.system.market.confirm_delivery(rid, delivered), expected)
        if expected is None:
            assert r is not None
            self.settle(r, delivered)

    @precondition(having(AWARDED))
    @rule(data=st.data(), signature=st.sampled_from(
        ["buyer"] * 5 + ["buyer-other-amount", "seller", "short", "high-s", "bad-v"]))
    def claim_with_receipt(self, data: st.DataObject, signature: str) -> None:
        rid = self.pick_rid(data, AWARDED)
        r = self.ghost.req(rid)
        caller = self.pick_party(data, "caller", r.seller if r else None)
        delivered = self.delivered(data, r)
        market = caller.system.market
        signer = r.buyer.account if r and signature.startswith("buyer") else caller.account
        signed_wh = delivered + 1 if signature == "buyer-other-amount" and delivered < 2**64 - 1 else delivered
        if signature == "buyer-other-amount" and signed_wh == delivered:
            signed_wh = delivered - 1
        sig = market.sign_receipt(signer, request_id=rid, seller=caller.address, delivered_wh=signed_wh)
        if signature == "short":
            sig = sig[:64]
        elif signature == "high-s":  # the malleable twin (n - s, v flipped) of a valid signature
            s = SECP256K1_N - int.from_bytes(sig[32:64], "big")
            sig = sig[:32] + s.to_bytes(32, "big") + bytes([55 - sig[64]])
        elif signature == "bad-v":
            sig = sig[:64] + bytes([29])
        ts = self.now()
        expected = self.status_error(rid, AWARDED)
        if expected is None and r is not None:
            assert r.seller is not None
            if caller is not r.seller:
                expected = ("NotSeller", {"caller": caller.address, "seller": r.seller.address})
            elif ts < r.start:
                expected = ("TooEarly", {"nowTs": ts, "allowedFrom": r.start})
            elif signature == "short":
                expected = ("BadSignatureLength", {"length": 64})
            elif signature == "high-s":
                expected = ("BadSignatureS", {})
            elif signature == "bad-v":
                expected = ("BadSignatureV", {"v": 29})
            elif signature != "buyer":
                expected = ("NotSignedByBuyer", {"buyer": r.buyer.address})
        self.act(f"{caller}.claimWithReceipt(#{rid}, {delivered}, {signature}) at {ts}",
                 lambda: market.claim_with_receipt(rid, delivered, sig), expected)
        if expected is None:
            assert r is not None
            self.settle(r, delivered)

    @precondition(having(AWARDED))
    @rule(data=st.data())
    def reclaim(self, data: st.DataObject) -> None:
        rid = self.pick_rid(data, AWARDED)
        r = self.ghost.req(rid)
        caller = self.pick_party(data, "caller", r.buyer if r else None)
        ts = self.now()
        expected = self.status_error(rid, AWARDED)
        if expected is None and r is not None:
            if caller is not r.buyer:
                expected = ("NotBuyer", {"caller": caller.address, "buyer": r.buyer.address})
            elif ts < r.end + GRACE:
                expected = ("TooEarly", {"nowTs": ts, "allowedFrom": r.end + GRACE})
        self.act(f"{caller}.reclaim(#{rid}) at {ts}", lambda: caller.system.market.reclaim(rid), expected)
        if expected is None:
            assert r is not None and r.seller is not None
            g, pen = self.ghost, penalty(r.energy, r.price)
            r.status = RECLAIMED
            g.stake[r.seller.address][0] -= pen
            g.stake[r.seller.address][1] -= pen
            g.add_credit(r.buyer.address, r.energy * r.price + pen)

    # ------------------------------------------------------------------------------------------ money out and in

    @rule(data=st.data(), kind=st.sampled_from([
        "deposit 0", "deposit 1", "deposit 1000", "deposit stake", "deposit wallet", "deposit wallet+1",
        "deposit to-max", "deposit to-max+1", "withdraw 0", "withdraw 1", "withdraw free", "withdraw free+1",
        "withdraw total", "withdraw huge", "cancel 0", "cancel 1", "cancel 5"]))
    def seller_account(self, data: st.DataObject, kind: str) -> None:
        """A seller's own account: depositStake, withdrawStake or cancelSignedBids (one rule, as with govern)."""
        action, _, amount = kind.partition(" ")
        if action == "cancel":
            self.cancel_signed_bids(data, int(amount))
        else:
            (self.deposit_stake if action == "deposit" else self.withdraw_stake)(data, amount)

    def deposit_stake(self, data: st.DataObject, kind: str) -> None:
        g = self.ghost
        caller = self.pick_actor(data, "caller", self.with_role(ROLE_SELLER))
        total = g.stake[caller.address][0]
        wallet = g.wallet[caller.address]
        amount = {"0": 0, "1": 1, "1000": 1_000, "stake": STAKE, "wallet": wallet, "wallet+1": wallet + 1,
                  "to-max": MAX_AMOUNT - total, "to-max+1": MAX_AMOUNT - total + 1}[kind]
        expected = self.active_error(caller, ROLE_SELLER)
        if expected is None:
            if amount == 0:
                expected = ("ZeroAmount", {})
            elif total + amount > MAX_AMOUNT:
                expected = ("AmountTooLarge", {"amount": total + amount, "max": MAX_AMOUNT})
            else:
                expected = self.pull_error(caller, amount)
        self.act(f"{caller}.depositStake({amount})", lambda: caller.system.market.deposit_stake(amount), expected)
        if expected is None:
            g.stake[caller.address][0] += amount
            g.wallet[caller.address] -= amount

    def withdraw_stake(self, data: st.DataObject, kind: str) -> None:
        g = self.ghost
        caller = self.pick_actor(data, "caller", [a for a in self.actors if g.stake[a.address][0]])
        total, locked = g.stake[caller.address]
        free = total - locked
        amount = {"0": 0, "1": 1, "free": free, "free+1": free + 1, "total": total, "huge": 2**255}[kind]
        expected: Expected = None
        if amount == 0:
            expected = ("ZeroAmount", {})
        elif amount > free:
            expected = ("InsufficientFreeStake", {"seller": caller.address, "free": free, "needed": amount})
        self.act(f"{caller}.withdrawStake({amount})", lambda: caller.system.market.withdraw_stake(amount), expected)
        if expected is None:
            g.stake[caller.address][0] -= amount
            g.wallet[caller.address] += amount

    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        """Pull payment: exactly the ghost credit arrives in the wallet, and the credit drops to zero."""
        g = self.ghost
        caller = self.pick_actor(data, "caller", [a for a in self.actors if g.credit[a.address]])
        owed = g.credit[caller.address]
        market, token = caller.system.market, caller.system.token
        before = token.balance_of(caller.address)
        expected: Expected = None if owed else ("NothingToWithdraw", {"account": caller.address})
        amount = self.act(f"{caller}.withdraw() owed {owed}", market.withdraw, expected)
        if expected is None:
            assert amount == owed, f"{caller}.withdraw() paid {amount}, owed {owed}"
            assert token.balance_of(caller.address) - before == owed, f"{caller}'s wallet did not grow by {owed}"
            assert market.credit_of(caller.address) == 0, f"{caller}'s credit is not zero after withdraw"
            g.wallet[caller.address] += owed
            g.credit[caller.address] = 0
        self.check_with_library(data)

    # ------------------------------------------------------------------------------------------ the clock

    def move_to(self, ts: int) -> None:
        """Make ts the next transaction's timestamp: mine a block at ts - 1 (the next one then comes at ts)."""
        latest = self.chain.now()
        if ts - 1 > latest:
            self.chain.advance_time(ts - 1 - latest)
        assert self.now() == ts, f"the clock went to {self.now()}, not {ts}"

    @rule(data=st.data(), jump=st.sampled_from(["1", "60", "600", "3600", "7501", "7501", "deadline-1", "deadline",
                                                 "start-1", "start", "reclaim-1", "reclaim", "reclaim"]))
    def advance(self, data: st.DataObject, jump: str) -> None:
        """Seconds forward (7501 = 2 h + 301 s crosses a delivery window and the grace period), or to one second
        before / exactly at a request's deadline, delivery start or reclaim time, when that is still ahead."""
        if jump.isdigit():
            self.move_to(self.now() + int(jump))
        elif self.ghost.requests:
            r = data.draw(st.sampled_from(self.ghost.requests), label="request")
            base, _, minus = jump.partition("-")
            ts = {"deadline": r.deadline, "start": r.start, "reclaim": r.end + GRACE}[base] - (1 if minus else 0)
            if ts > self.now():
                self.move_to(ts)

    # ------------------------------------------------------------------------------------------ invariants

    @invariant()
    def books_balance(self) -> None:
        g = self.ghost
        accounts = self.tracked()
        head, rows, reqs = self.read_chain(accounts)
        supply, market_balance, next_id, paused = head
        # (a) no token is created or lost: every wallet ever used plus the market's holding is the supply.
        assert supply == g.supply, f"supply {supply} != ghost {g.supply}"
        assert supply == sum(r[0] for r in rows.values()) + market_balance, "(a) supply != wallets + market"
        # (b) the market holds exactly what it owes, computed from the chain's own numbers.
        escrow = 0
        for raw in reqs:
            energy, max_price, status, price = raw[2], raw[1], raw[6], raw[8]
            escrow += energy * max_price if status == OPEN else energy * price if status == AWARDED else 0
        owed = sum(r[1] for r in rows.values()) + sum(r[2] for r in rows.values()) + escrow
        assert market_balance == owed, f"(b) market holds {market_balance}, owes {owed}"
        assert escrow == sum(r.escrow for r in g.requests), f"(b) escrow {escrow} != ghost"
        # (c) every account's wallet, credit and stake are exactly the ghost's; (d) locked <= total.
        for actor in self.actors:
            a = actor.address
            wallet, credit, total, locked, min_nonce = rows[a]
            assert wallet == g.wallet[a], f"(c) {actor} wallet {wallet} != ghost {g.wallet[a]}"
            assert credit == g.credit[a], f"(c) {actor} credit {credit} != ghost {g.credit[a]}"
            assert [total, locked] == g.stake[a], f"(c) {actor} stake {[total, locked]} != ghost {g.stake[a]}"
            assert locked <= total, f"(d) {actor} locked {locked} > total {total}"
            assert min_nonce == g.min_nonce[a], f"{actor} minBidNonce {min_nonce} != ghost {g.min_nonce[a]}"
        for a in self.bench.others:
            assert rows[a] == [g.wallet[a], g.credit[a], *g.stake[a], g.min_nonce[a]], f"(c) {a} changed: {rows[a]}"
        # Every request, field by field; a reverted action must have changed none of this.
        assert next_id == len(g.requests) + 1, f"nextRequestId {next_id}, ghost has {len(g.requests)} requests"
        assert bool(paused) == g.paused, f"paused {bool(paused)} != ghost {g.paused}"
        for r, raw in zip(g.requests, reqs):
            seller = r.seller.address if r.seller else None
            expect = [int(r.buyer.address, 16), r.max_price, r.energy, r.deadline, r.start, r.end, int(r.status),
                      int(seller, 16) if seller else 0, r.price]
            assert raw == expect, f"request {r}: chain {raw} != ghost {expect}"
        # The ghost's own bookkeeping: locked stake is exactly the penalties of best bids and awards.
        for actor in self.actors:
            reserved = sum(penalty(r.energy, r.price) for r in g.requests
                           if r.seller is actor and r.status in (OPEN, AWARDED))
            assert g.stake[actor.address][1] == reserved, f"ghost lock of {actor} is not its open penalties"

    def check_with_library(self, data: st.DataObject) -> None:
        """Spot-check one account and one request through the library's public readers and eth_getStorageAt
        (~5 ms a call on eth-tester, too slow for every account after every step)."""
        g, market, token = self.ghost, self.world.system.market, self.world.system.token
        actor = self.pick_actor(data, "account")
        a = actor.address
        stake = market.stake_of(a)
        got = (token.balance_of(a), market.credit_of(a), stake.total, stake.locked, market.min_bid_nonce(a))
        assert got == (g.wallet[a], g.credit[a], *g.stake[a], g.min_nonce[a]), f"library reads of {actor}: {got}"
        if g.requests:
            r = data.draw(st.sampled_from(g.requests), label="request")
            got_r = market.request(r.rid)
            assert (got_r.buyer, got_r.max_price_per_wh, got_r.energy_wh, got_r.deadline_ts, got_r.delivery_start_ts,
                    got_r.delivery_end_ts, got_r.status, got_r.seller, got_r.price_per_wh) == \
                (r.buyer.address, r.max_price, r.energy, r.deadline, r.start, r.end, r.status,
                 r.seller.address if r.seller else None, r.price), f"library reads of request {r}: {got_r}"
        layout, word = self.bench.layouts["Market"], self.market_words.words()
        for slot in (layout.slot("nextRequestId")[0], layout.slot("credit", int(a, 16))[0]):
            rpc = int.from_bytes(self.w3.eth.get_storage_at(market.address, slot), "big")
            assert rpc == word(slot), f"eth_getStorageAt({slot}) = {rpc}, the state reader saw {word(slot)}"


def test_market_books_balance_under_random_actions(bench: Bench) -> None:
    MarketMachine.bench = bench
    run_state_machine_as_test(MarketMachine, settings=settings(
        max_examples=15, stateful_step_count=40, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    ))
