"""Behaviour only a real node shows: chain-id changes, pending transactions, nonce races and replacements."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from eth_account import Account

from tests.support.assertions import reverts
from v2vchain.chain.anvil import ANVIL_DEV_KEY
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import Chain, connect
from v2vchain.chain.errors import TransactionTimeout
from v2vchain.chain.tx import Sender
from v2vchain.deploy import deploy
from v2vchain.devnet import add_issuer, credential_for
from v2vchain.identity.registration import ROLE_SELLER

pytestmark = pytest.mark.anvil


@pytest.fixture
def anvil_chain() -> Iterator[Chain]:
    with connect("anvil") as chain:
        yield chain


@pytest.fixture
def unmined_chain() -> Iterator[Chain]:
    with connect("anvil", anvil_args=("--no-mining",)) as chain:
        yield chain


def test_signatures_for_the_old_chain_id_are_rejected_after_the_chain_id_changes(
    anvil_chain: Chain, build: Build
) -> None:
    """EIP-712 domain rebuilt from block.chainid: a credential signed before a chain split does not carry over."""
    system = deploy(anvil_chain, build=build)
    issuer = add_issuer(system)
    vehicle = Account.create()
    old_credential = credential_for(system, issuer, vehicle, ROLE_SELLER)
    separator_before = system.registry._call("domainSeparator")
    anvil_chain._rpc("anvil_setChainId", [4242])
    assert anvil_chain.chain_id == 4242
    assert system.registry._call("domainSeparator") != separator_before
    with reverts("IssuerNotAuthorised"):
        system.registry.register(old_credential)
    system.registry.register(credential_for(system, issuer, vehicle, ROLE_SELLER))
    assert system.registry.is_active(vehicle.address, ROLE_SELLER)


def test_concurrent_sends_from_one_key_get_consecutive_nonces(anvil_chain: Chain) -> None:
    sender = anvil_chain.sender(Account.from_key(ANVIL_DEV_KEY))
    targets = [Account.create().address for _ in range(8)]
    receipts: list[dict] = []
    threads = [
        threading.Thread(target=lambda t=t: receipts.append(sender.send({"to": t, "value": 1}, action="pay")))
        for t in targets
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    nonces = sorted(anvil_chain.w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts)
    assert nonces == list(range(nonces[0], nonces[0] + 8))
    assert all(anvil_chain.w3.eth.get_balance(t) == 1 for t in targets)


def test_a_key_used_elsewhere_resynchronises_on_nonce_too_low(anvil_chain: Chain) -> None:
    account = Account.from_key(ANVIL_DEV_KEY)
    ours = anvil_chain.sender(account)
    ours.send({"to": Account.create().address, "value": 1}, action="warm up")
    other_process = Sender(anvil_chain.w3, account)
    other_process.send({"to": Account.create().address, "value": 1}, action="elsewhere")
    target = Account.create().address
    ours.send({"to": target, "value": 5}, action="after the other process")
    assert anvil_chain.w3.eth.get_balance(target) == 5


def test_a_stuck_transaction_is_replaced_with_the_same_nonce_at_higher_fees(unmined_chain: Chain) -> None:
    w3 = unmined_chain.w3
    sender = Sender(w3, Account.from_key(ANVIL_DEV_KEY), replace_after_s=0.5, receipt_timeout_s=20)
    target = Account.create().address
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(r=sender.send({"to": target, "value": 3}, action="pay")))
    worker.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(_pending(unmined_chain)) < 1:
        time.sleep(0.05)
    first = _pending(unmined_chain)[0]
    while time.monotonic() < deadline and _pending(unmined_chain)[0]["hash"] == first["hash"]:
        time.sleep(0.05)  # the replacement evicts the original from the pool
    replacement = _pending(unmined_chain)[0]
    unmined_chain._rpc("evm_mine", [])
    worker.join(timeout=20)
    assert replacement["nonce"] == first["nonce"]
    assert int(replacement["maxFeePerGas"], 16) >= int(first["maxFeePerGas"], 16) * 9 // 8
    assert result["r"]["transactionHash"].hex() == replacement["hash"].removeprefix("0x")
    assert w3.eth.get_balance(target) == 3


def _pending(chain: Chain) -> list[dict]:
    content = chain._rpc("txpool_content", [])
    return [tx for by_nonce in content["pending"].values() for tx in by_nonce.values()]


def test_a_receipt_that_never_comes_raises_TransactionTimeout(unmined_chain: Chain) -> None:

    sender = Sender(unmined_chain.w3, Account.from_key(ANVIL_DEV_KEY), replace_after_s=60, receipt_timeout_s=1)
    with pytest.raises(TransactionTimeout, match="no receipt"):
        sender.send({"to": Account.create().address, "value": 1}, action="pay")
