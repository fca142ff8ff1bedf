"""Gas of every step of a reverse-auction trade, and of one complete trade with 1, 5 and 20 bidders.

A complete trade = open + every bid + close + confirm + the seller's withdrawal of its payment. Each bidder bids
below the previous one, so every bid displaces the best (the most expensive case: a penalty lock and an unlock of
the sellers' free balances per bid). Sellers deposit their penalty cover once, beforehand.
The same trade with gasless signed bids (all relayed in closeWithSignedBids, cheapest first as the buyer's node
sends them) is measured beside it.

Two ways to fund a trade, both measured:
- wallet: the buyer's escrow is pulled from its wallet at open and the seller withdraws after every trade;
- period: buyer and sellers keep balances in the Market's vault, deposit and withdraw once per PERIOD trades (each
  trade carries 1/PERIOD of one deposit and one withdrawal), so open moves no tokens.
Both in a steady state: another request stays open throughout, so the market's escrow total is never zero (a
market that returns to empty between trades would pay ~15k more per open for re-creating that slot).
The Market's and the Clearing's deployment gas come first (deploy_market, deploy_clearing).
Run: .venv/bin/python scripts/bench_gas.py [--chains embedded,anvil]
"""

from __future__ import annotations

import argparse
from typing import Any

from eth_account import Account
from eth_utils import keccak

from v2vchain.chain.connect import Chain, connect
from v2vchain.contracts.market import ZERO_ADDRESS
from v2vchain.deploy import deploy
from v2vchain.devnet import add_issuer, credential_for, onboard
from v2vchain.identity.did import did_for
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER

PERIOD = 10  # trades per deposit / withdrawal in the "period" funding
BIDDERS = (1, 5, 20)
SIGNED_BIDDERS = (1, 5, 16)  # 16 = Market.MAX_SIGNED_BIDS, the most one close may relay


def gas(receipt: dict) -> int:
    return int(receipt["gasUsed"])


def measure(chain: Chain, funding: str) -> dict[str, int]:
    system = deploy(chain)
    issuer = add_issuer(system)
    buyer = onboard(system, issuer, "buyer", ROLE_BUYER, tokens=10**12)
    sellers = [onboard(system, issuer, f"s{i}", ROLE_SELLER, tokens=10**12) for i in range(max(BIDDERS))]
    steps: dict[str, int] = {
        "deploy_market": deployment_gas(chain, system.deployment.market),
        "deploy_clearing": deployment_gas(chain, str(system.deployment.clearing)),
    }

    extra = Account.create()
    steps["register"] = gas(
        system.registry._transact(
            "register",
            extra.address,
            keccak(text=did_for(extra.address, chain.chain_id)),
            ROLE_SELLER,
            credential_for(system, issuer, extra, ROLE_SELLER).expiry,
            credential_for(system, issuer, extra, ROLE_SELLER).signature,
        )
    )
    steps["deposit"] = gas(sellers[0].system.market._transact("deposit", 10**10))
    for s in sellers[1:]:
        s.system.market.deposit(10**10)

    background = chain.now() + 6 * 86_400  # the steady state: a request that stays open through every trade
    buyer.system.market.open(
        energy_wh=1_000,
        max_price_per_wh=150,
        deadline_ts=background,
        delivery_start_ts=background + 60,
        delivery_end_ts=background + 3_600,
        area_id=keccak(text="cloak:u33dc"),
        access_hash=keccak(b"other"),
    )
    deposit_share = 0
    if funding == "period":
        deposit_share = gas(buyer.system.market._transact("deposit", 10**11)) // PERIOD
    withdraw_share = (lambda g: g // PERIOD) if funding == "period" else (lambda g: g)
    results: dict[str, int] = {}
    for n in BIDDERS:
        market = buyer.system.market
        deadline, request_id, open_gas = open_request(chain, market)
        bid_gas = [gas(s.system.market.bid(request_id, 140 - i)) for i, s in enumerate(sellers[:n])]
        chain.advance_time(deadline - chain.now())
        close_gas = gas(market.close(request_id))  # the buyer closes (the relay period)
        chain.advance_time(300)
        confirm_gas = gas(market.confirm_delivery(request_id, 20_000))
        winner = sellers[n - 1]
        withdraw_gas = gas(winner.system.market._transact("withdraw", 20_000 * (140 - (n - 1))))
        total = deposit_share + open_gas + sum(bid_gas) + close_gas + confirm_gas + withdraw_share(withdraw_gas)
        if n == 5:
            steps.update(
                open=open_gas,
                first_bid=bid_gas[0],
                displacing_bid=bid_gas[1],
                close_award=close_gas,
                confirm=confirm_gas,
                withdraw=withdraw_gas,
            )
        results[f"trade_{n}_bidders"] = total
    for n in SIGNED_BIDDERS:
        one = signed_trade(chain, system, buyer, sellers[:n])
        results[f"signed_trade_{n}_bidders"] = (
            deposit_share + one["open"] + one["close"] + one["confirm"] + withdraw_share(one["withdraw"])
        )
        if n == 5:
            steps["close_5_signed"] = one["close"]
    return {**steps, **results}


def deployment_gas(chain: Chain, address: str) -> int:
    """Gas of the transaction that created `address` (the venues' constructors emit their configuration events)."""
    for number in range(1, chain.w3.eth.block_number + 1):
        for tx in chain.w3.eth.get_block(number)["transactions"]:
            receipt = chain.w3.eth.get_transaction_receipt(tx)
            if receipt["contractAddress"] == address:
                return gas(receipt)
    raise LookupError(f"no creation of {address} on this chain")


def open_request(chain: Chain, market: Any) -> tuple[int, int, int]:
    """(deadline, request id, gas) of one 20 kWh request opened through the raw call (its gas alone)."""
    deadline = chain.now() + 600
    receipt = market._transact(
        "open",
        20_000,
        150,
        deadline,
        deadline + 300,
        deadline + 7_500,
        keccak(text="cloak:u33db"),
        keccak(b"secret"),
        ZERO_ADDRESS,
    )
    return deadline, market.contract.functions.nextRequestId().call() - 1, gas(receipt)


def signed_trade(chain: Chain, system, buyer, bidders) -> dict[str, int]:
    """The same trade with gasless bids: sellers sign, the buyer relays them all in closeWithSignedBids."""
    market = buyer.system.market
    deadline, request_id, open_gas = open_request(chain, market)
    bids = [
        market.sign_bid(
            s.account,
            request_id=request_id,
            price_per_wh=140 - i,
            energy_wh=20_000,
            nonce=0,
            expiry_ts=deadline + 3_600,
        )
        for i, s in enumerate(bidders)
    ]
    bids.sort(key=lambda b: b.price_per_wh)  # as the buyer's node relays them
    chain.advance_time(deadline - chain.now())
    close_gas = gas(market.close_with_signed_bids(request_id, bids))
    chain.advance_time(300)
    confirm_gas = gas(market.confirm_delivery(request_id, 20_000))
    withdraw_gas = gas(bidders[-1].system.market._transact("withdraw", 20_000 * (140 - (len(bidders) - 1))))
    return {"open": open_gas, "close": close_gas, "confirm": confirm_gas, "withdraw": withdraw_gas}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", default="embedded,anvil")
    chains = parser.parse_args().chains.split(",")
    columns = [(name, funding) for funding in ("wallet", "period") for name in chains]
    measured: dict[tuple[str, str], dict[str, int]] = {}
    for name in chains:
        for funding in ("wallet", "period"):
            with connect(name) as chain:
                measured[(name, funding)] = measure(chain, funding)
    keys = list(next(iter(measured.values())))
    print(
        f"funding 'wallet': escrow pulled at open, a withdrawal per trade; 'period': vault balances, one deposit "
        f"and one withdrawal per {PERIOD} trades"
    )
    print(f"{'step':<22}" + "".join(f"{name + ' ' + funding:>18}" for name, funding in columns))
    for key in keys:
        print(f"{key:<22}" + "".join(f"{measured[c][key]:>18,}" for c in columns))
    first = chains[0]
    for funding in ("wallet", "period"):
        row = measured[(first, funding)]
        for n in BIDDERS:
            print(f"gas_per_trade_{n}_bidders[{first},{funding}]={row[f'trade_{n}_bidders']}")
        for n in SIGNED_BIDDERS:
            print(f"gas_per_signed_trade_{n}_bidders[{first},{funding}]={row[f'signed_trade_{n}_bidders']}")
    print(f"gas_per_trade_5_signed_bidders={measured[(first, 'period')]['signed_trade_5_bidders']}")
    print(f"gas_per_trade_5_bidders={measured[(first, 'period')]['trade_5_bidders']}")


if __name__ == "__main__":
    main()
