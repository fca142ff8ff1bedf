"""Gas of every step of a reverse-auction trade, and of one complete trade with 1, 5 and 20 bidders.

A complete trade = open + every bid + close + confirm + the seller's withdrawal of its payment. Each bidder bids
below the previous one, so every bid displaces the best (the most expensive case: a penalty lock and an unlock of
the sellers' free balances per bid). Sellers deposit their penalty cover once, beforehand.
The same trade with gasless signed bids (all relayed in closeWithSignedBids) is measured beside it.
Run: .venv/bin/python scripts/bench_gas.py [--chains embedded,anvil]
"""
from __future__ import annotations

import argparse

from eth_utils import keccak

from v2vchain.chain import Chain, connect
from v2vchain.contracts.market import ZERO_ADDRESS
from v2vchain.devnet import add_issuer, onboard
from v2vchain.deploy import deploy
from v2vchain.identity import ROLE_BUYER, ROLE_SELLER

BIDDERS = (1, 5, 20)
SIGNED_BIDDERS = (1, 5, 16)  # 16 = Market.MAX_SIGNED_BIDS, the most one close may relay


def gas(receipt: dict) -> int:
    return int(receipt["gasUsed"])


def measure(chain: Chain) -> dict[str, int]:
    system = deploy(chain)
    issuer = add_issuer(system)
    buyer = onboard(system, issuer, "buyer", ROLE_BUYER, tokens=10**12)
    sellers = [onboard(system, issuer, f"s{i}", ROLE_SELLER, tokens=10**12) for i in range(max(BIDDERS))]
    steps: dict[str, int] = {}

    from v2vchain.identity import did_for  # one extra vehicle, to time register alone
    from eth_account import Account
    from v2vchain.devnet import credential_for
    extra = Account.create()
    steps["register"] = gas(system.registry._transact(
        "register", extra.address, keccak(text=did_for(extra.address, chain.chain_id)), ROLE_SELLER,
        credential_for(system, issuer, extra, ROLE_SELLER).expiry,
        credential_for(system, issuer, extra, ROLE_SELLER).signature))
    steps["deposit"] = gas(sellers[0].system.market._transact("deposit", 10**10))
    for s in sellers[1:]:
        s.system.market.deposit(10**10)

    results: dict[str, int] = {}
    for n in BIDDERS:
        market = buyer.system.market
        deadline = chain.now() + 600
        open_gas = gas(market._transact("open", 20_000, 150, deadline, deadline + 300, deadline + 7_500,
                                         keccak(text="cloak:u33db"), keccak(b"secret"), ZERO_ADDRESS))
        request_id = market.contract.functions.nextRequestId().call() - 1
        bid_gas = [gas(s.system.market.bid(request_id, 140 - i)) for i, s in enumerate(sellers[:n])]
        chain.advance_time(deadline - chain.now())
        close_gas = gas(market.close(request_id))  # the buyer closes (the relay period)
        chain.advance_time(300)
        confirm_gas = gas(market.confirm_delivery(request_id, 20_000))
        winner = sellers[n - 1]
        withdraw_gas = gas(winner.system.market._transact("withdraw", 20_000 * (140 - (n - 1))))
        total = open_gas + sum(bid_gas) + close_gas + confirm_gas + withdraw_gas
        if n == 5:
            steps.update(open=open_gas, first_bid=bid_gas[0], displacing_bid=bid_gas[1], close_award=close_gas,
                         confirm=confirm_gas, withdraw=withdraw_gas)
        results[f"trade_{n}_bidders"] = total
    for n in SIGNED_BIDDERS:
        results[f"signed_trade_{n}_bidders"] = signed_trade(chain, system, buyer, sellers[:n])
    return {**steps, **results}


def signed_trade(chain: Chain, system, buyer, bidders) -> int:  # type: ignore[no-untyped-def]
    """The same trade with gasless bids: sellers sign, the buyer relays them all in closeWithSignedBids."""
    market = buyer.system.market
    deadline = chain.now() + 600
    open_gas = gas(market._transact("open", 20_000, 150, deadline, deadline + 300, deadline + 7_500,
                                     keccak(text="cloak:u33db"), keccak(b"secret"), ZERO_ADDRESS))
    request_id = market.contract.functions.nextRequestId().call() - 1
    bids = [market.sign_bid(s.account, request_id=request_id, price_per_wh=140 - i, energy_wh=20_000, nonce=0,
                            expiry_ts=deadline + 3_600) for i, s in enumerate(bidders)]
    chain.advance_time(deadline - chain.now())
    close_gas = gas(market.close_with_signed_bids(request_id, bids))
    chain.advance_time(300)
    confirm_gas = gas(market.confirm_delivery(request_id, 20_000))
    withdraw_gas = gas(bidders[-1].system.market._transact("withdraw", 20_000 * (140 - (len(bidders) - 1))))
    return open_gas + close_gas + confirm_gas + withdraw_gas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", default="embedded,anvil")
    chains = parser.parse_args().chains.split(",")
    measured: dict[str, dict[str, int]] = {}
    for name in chains:
        with connect(name) as chain:
            measured[name] = measure(chain)
    keys = list(next(iter(measured.values())))
    print(f"{'step':<22}" + "".join(f"{name:>14}" for name in chains))
    for key in keys:
        print(f"{key:<22}" + "".join(f"{measured[name][key]:>14,}" for name in chains))
    for n in BIDDERS:
        print(f"gas_per_trade_{n}_bidders[{chains[0]}]={measured[chains[0]][f'trade_{n}_bidders']}")
    for n in SIGNED_BIDDERS:
        print(f"gas_per_signed_trade_{n}_bidders[{chains[0]}]={measured[chains[0]][f'signed_trade_{n}_bidders']}")
    print(f"gas_per_trade_5_signed_bidders={measured[chains[0]]['signed_trade_5_bidders']}")
    print(f"gas_per_trade_5_bidders={measured[chains[0]]['trade_5_bidders']}")


if __name__ == "__main__":
    main()
