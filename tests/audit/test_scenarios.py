"""Every way a trade can end, indexed and audited, and a violation built for real on-chain."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.audit import index, specs_of
from tests.support.market_books import history
from tests.support.postgres import Cluster
from tests.support.world import PARAMS, World
from v2vchain.audit.decode import ContractSpec
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.reconcile import reconcile
from v2vchain.audit.statement import statement
from v2vchain.audit.store import Store
from v2vchain.audit.trades import trades
from v2vchain.chain.compiler import Build
from v2vchain.cli.audit import audit_app
from v2vchain.deploy import deploy
from v2vchain.devnet import GAS_MONEY_WEI, add_issuer, credential_for
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER

MAX = 2**256 - 1


def test_every_ending_is_indexed_and_every_statement_equals_the_contracts_state(
    world: World, build: Build, tmp_path: Path
) -> None:
    ids = history(world)
    db = tmp_path / "world.db"
    index(world.chain, specs_of(world.system, build), db)
    with Store.open(db) as store:
        ledger = Ledger.from_store(store)
        result = reconcile(ledger, store)
    assert ledger.penalty_bps == PARAMS.penalty_bps
    assert result.violations == [] and result.warnings == []
    market = world.market
    assert result.totals["token_balance"] == world.system.token.balance_of(market.address) == result.totals["books"]
    assert result.totals["sunk"] == market.sunk() == 10_000 * 90 * PARAMS.penalty_bps // 10_000
    assert result.totals["escrows"] == market.escrowed()
    assert result.totals["rejected_signed_bids"] == 1

    by_id = {int(t.trade_id.split("-")[1]): t for t in trades(ledger)}
    assert {k: by_id[v].status for k, v in ids.items() if v in by_id} == {
        "confirmed": "settled",
        "claimed": "settled",
        "reclaimed": "reclaimed",
        "signed": "settled",
        "finalized": "settled",
        "raised": "settled",
        "pending_confirmation": "confirmed",
        "pending": "awarded",
    }
    assert by_id[ids["signed"]].seller == world.sellers[2].address and by_id[ids["signed"]].price_per_wh == 60
    assert by_id[ids["claimed"]].paid == 9_000 * 70 and by_id[ids["claimed"]].refund == 1_000 * 70
    assert by_id[ids["finalized"]].delivered_wh == 4_000 and by_id[ids["raised"]].delivered_wh == 8_000

    for account in world.accounts():
        s = statement(ledger, account, world.chain.chain_id)
        on_chain = market.account(account)
        assert (s["account"]["free"], s["account"]["locked"]) == (on_chain.free, on_chain.locked), account
        assert s["account"]["at_risk"] == on_chain.locked, account
    seller0 = statement(ledger, world.sellers[0].address, world.chain.chain_id)
    assert [(o["request"], o["role"]) for o in seller0["open_obligations"]] == [(ids["pending"], "seller")]
    seller1 = statement(ledger, world.sellers[1].address, world.chain.chain_id)
    assert [(o["request"], o["role"]) for o in seller1["open_obligations"]] == [(ids["open"], "seller")]
    seller2 = statement(ledger, world.sellers[2].address, world.chain.chain_id)
    penalty = 10_000 * 90 * PARAMS.penalty_bps // 10_000
    assert seller2["sold"]["penalties_paid"] == seller2["account"]["forfeited"] == penalty
    assert [(o["request"], o["role"]) for o in seller2["open_obligations"]] == [(ids["pending_confirmation"], "seller")]
    buyer = statement(ledger, world.buyer.address, world.chain.chain_id)
    assert buyer["bought"]["energy_wh"] == 10_000 + 9_000 + 10_000 + 4_000 + 8_000
    assert {o["request"] for o in buyer["open_obligations"]} == {ids["pending"], ids["open"]}


@pytest.mark.postgres
def test_every_ending_gets_the_same_answers_from_sqlite_and_postgresql(
    world: World, build: Build, tmp_path: Path, postgres: Cluster
) -> None:
    history(world)
    answers = []
    for db in (tmp_path / "world.db", postgres.database()):
        index(world.chain, specs_of(world.system, build), db)
        with Store.open(db) as store:
            ledger = Ledger.from_store(store)
            answers.append(
                (
                    reconcile(ledger, store),
                    trades(ledger),
                    [statement(ledger, a, world.chain.chain_id) for a in world.accounts()],
                )
            )
    (reconciled, traded, statements), on_postgres = answers
    assert reconciled.ok and len(traded) == 8
    assert on_postgres == answers[0]


def test_the_books_balance_without_knowing_penaltyBps(world: World, build: Build, tmp_path: Path) -> None:
    """A Market deployed before MarketConfigured existed (its event deleted here) has its penaltyBps inferred from
    the awards; an index without a single award still balances free + locked."""
    still_open = world.open_request()
    world.sellers[0].system.market.bid(still_open, 50)
    db = tmp_path / "no-award.db"
    index(world.chain, specs_of(world.system, build), db)
    with sqlite3.connect(db) as raw:
        assert raw.execute("DELETE FROM events WHERE event = 'MarketConfigured'").rowcount == 1
    with Store.open(db) as store:
        ledger = Ledger.from_store(store)
        result = reconcile(ledger, store)
    assert ledger.penalty_bps is None and result.violations == []
    assert result.totals["token_balance"] == result.totals["books"]


def test_a_winner_revoked_in_the_audited_registry_before_its_bid_is_a_violation(
    world: World, build: Build, tmp_path: Path
) -> None:
    """Built on-chain: the issuer revokes seller 0, which then wins an auction in a market that checks another
    registry. Audited against the real registry, the award names the revocation."""
    chain, seller, buyer = world.chain, world.sellers[0], world.buyer
    chain.fund(world.issuer.address, GAS_MONEY_WEI)
    world.system.as_(chain.sender(world.issuer)).registry.revoke(seller.address)
    rogue = deploy(chain, params=PARAMS, build=build, token_address=world.system.token.address)
    rogue_issuer = add_issuer(rogue)
    for vehicle, role in ((seller, ROLE_SELLER), (buyer, ROLE_BUYER)):
        rogue.registry.register(credential_for(rogue, rogue_issuer, vehicle.account, role))
        rogue.as_(chain.sender(vehicle.account)).token.approve(rogue.market.address, MAX)
    rogue.as_(chain.sender(seller.account)).market.deposit(10**6)
    deadline = chain.now() + 600
    request_id = rogue.as_(chain.sender(buyer.account)).market.open(
        energy_wh=1_000,
        max_price_per_wh=100,
        deadline_ts=deadline,
        delivery_start_ts=deadline + 60,
        delivery_end_ts=deadline + 3_600,
        area_id=b"\x00" * 32,
        access_hash=b"\x01" * 32,
    )
    rogue.as_(chain.sender(seller.account)).market.bid(request_id, 90)
    world.to(deadline)
    close = rogue.as_(chain.sender(buyer.account)).market.close(request_id)

    audited = {s.name: s for s in specs_of(world.system, build)}
    specs = [
        audited["EnergyToken"],
        audited["Registry"],
        ContractSpec.of("Market", rogue.market.address, audited["Market"].abi),
    ]
    db = tmp_path / "rogue.db"
    index(chain, specs, db)
    with Store.open(db) as store:
        result = reconcile(Ledger.from_store(store), store)
    deposit, violation = result.violations  # the revoked seller could not even have deposited
    assert deposit.rule == "deposit-not-active" and "revoked at block" in deposit.message
    assert violation.rule == "winner-not-active" and "revoked at block" in violation.message
    assert violation.tx_hash == "0x" + bytes(close["transactionHash"]).hex()

    out = CliRunner().invoke(audit_app, ["reconcile", "--db", str(db)])
    assert out.exit_code == 2
    assert violation.tx_hash in out.output and "VIOLATION [winner-not-active]" in out.output
