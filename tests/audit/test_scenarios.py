"""Every way a trade can end, indexed and audited, and a violation built for real on-chain."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.support.audit import index, specs_of
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


def history(w: World) -> dict[str, int]:
    """Confirmed in full, claimed with a receipt, reclaimed (penalty to the sink), expired, won by a signed bid (one
    passed over), confirmed for less and finalized, confirmed for less and raised by a receipt, pending a confirmation,
    awarded and pending, still open; withdrawals, a nonce cancellation and a pause in between."""
    m = w.market
    confirmed = w.awarded(price=80, seller=0)
    w.to(m.request(confirmed).delivery_start_ts)
    w.buyer.system.market.confirm_delivery(confirmed, 10_000)
    claimed = w.awarded(price=70, seller=1)
    w.to(m.request(claimed).delivery_start_ts)
    receipt = m.sign_receipt(w.buyer.account, request_id=claimed, seller=w.sellers[1].address, delivered_wh=9_000)
    w.sellers[1].system.market.claim_with_receipt(claimed, 9_000, receipt)
    reclaimed = w.awarded(price=90, seller=2)
    w.to(m.request(reclaimed).delivery_end_ts + PARAMS.grace_period_s)
    w.outsider.system.market.reclaim(reclaimed)
    expired = w.open_request()
    w.to(m.request(expired).deadline_ts)
    w.buyer.system.market.close(expired)
    w.sellers[2].system.market.cancel_nonces(1)
    signed = w.open_request()
    w.sellers[0].system.market.bid(signed, 95)
    r = m.request(signed)
    bids = [
        m.sign_bid(
            w.sellers[i].account,
            request_id=signed,
            price_per_wh=p,
            energy_wh=r.energy_wh,
            nonce=n,
            expiry_ts=r.deadline_ts + 3_600,
        )
        for i, p, n in ((1, 85, 1), (2, 60, 1), (2, 50, 0))
    ]
    w.to(r.deadline_ts)
    w.buyer.system.market.close_with_signed_bids(signed, bids)  # seller 2's nonce 0 is cancelled: passed over
    w.to(m.request(signed).delivery_start_ts)
    w.buyer.system.market.confirm_delivery(signed, 10_000)
    finalized = w.awarded(price=60, seller=1)
    w.buyer.system.market.confirm_delivery(finalized, 4_000)
    raised = w.awarded(price=65, seller=2)
    raise_receipt = m.sign_receipt(w.buyer.account, request_id=raised, seller=w.sellers[2].address, delivered_wh=8_000)
    w.buyer.system.market.confirm_delivery(raised, 5_000)
    w.to(m.request(raised).delivery_start_ts)
    w.sellers[2].system.market.claim_with_receipt(raised, 8_000, raise_receipt)
    w.to(m.request(finalized).delivery_end_ts + PARAMS.grace_period_s)
    w.outsider.system.market.finalize(finalized)
    w.market.pause()
    w.market.unpause()
    pending_confirmation = w.awarded(price=55, seller=2)
    w.buyer.system.market.confirm_delivery(pending_confirmation, 3_000)
    pending = w.awarded(price=75, seller=0)
    still_open = w.open_request()
    w.sellers[1].system.market.bid(still_open, 50)
    w.sellers[1].system.market.withdraw(1_000_000)
    w.buyer.system.market.deposit(5_000)
    w.buyer.system.market.withdraw(2_000)
    w.sellers[2].system.market.withdraw(1_000_000)
    return {
        "confirmed": confirmed,
        "claimed": claimed,
        "reclaimed": reclaimed,
        "expired": expired,
        "signed": signed,
        "finalized": finalized,
        "raised": raised,
        "pending_confirmation": pending_confirmation,
        "pending": pending,
        "open": still_open,
    }


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


def test_the_books_balance_without_knowing_penaltyBps(world: World, build: Build, tmp_path: Path) -> None:
    """penaltyBps is inferred from the awards; an index without a single award still balances free + locked."""
    still_open = world.open_request()
    world.sellers[0].system.market.bid(still_open, 50)
    db = tmp_path / "no-award.db"
    index(world.chain, specs_of(world.system, build), db)
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
