"""A JSON-RPC node that answers JSON of the wrong shape (a transaction input that is not hex, a log without its
fields, a block number that is not one) gets a named RpcError from the indexer's HTTP client, never a ValueError,
KeyError or TypeError from deep inside the indexer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.rpc_stub import rpc_stub
from v2vchain.audit.errors import RpcError
from v2vchain.audit.rpc import HttpNode

TX = "0x" + "11" * 32
ADDRESS = "0x" + "22" * 20


@pytest.mark.parametrize("tx_input", ["0xzz", "0x123", 5, ["0x00"]])
def test_a_transaction_input_that_is_not_whole_hex_bytes_is_an_rpc_error(tx_input: Any) -> None:
    answers = {"eth_getTransactionByHash": {"input": tx_input, "from": ADDRESS, "to": ADDRESS}}
    with rpc_stub(answers) as url, pytest.raises(RpcError, match="malformed"):
        HttpNode(url).tx_input(TX)


def test_a_transaction_whose_recipient_is_not_an_address_is_an_rpc_error() -> None:
    answers = {"eth_getTransactionByHash": {"input": "0x", "from": ADDRESS, "to": "0xnot"}}
    with rpc_stub(answers) as url, pytest.raises(RpcError, match="malformed"):
        HttpNode(url).tx_parties(TX)


@pytest.mark.parametrize("logs", [[{"address": ADDRESS}], "not a list", [5], [{**{"address": 7}, "topics": []}]])
def test_logs_of_the_wrong_shape_are_an_rpc_error(logs: Any) -> None:
    answers = {"eth_getLogs": logs}
    with rpc_stub(answers) as url, pytest.raises(RpcError, match="malformed"):
        HttpNode(url).logs(1, 2, [ADDRESS])


def test_a_block_number_that_is_not_a_number_is_an_rpc_error() -> None:
    answers = {"eth_blockNumber": "0xnope"}
    with rpc_stub(answers) as url, pytest.raises(RpcError, match="malformed"):
        HttpNode(url).head()


def test_a_block_header_without_its_hash_is_an_rpc_error() -> None:
    answers = {"eth_getBlockByNumber": {"number": "0x1", "parentHash": "0x00", "timestamp": "0x5"}}
    with rpc_stub(answers) as url, pytest.raises(RpcError, match="malformed"):
        HttpNode(url).headers(1, 1)
