"""What a contract read costs on the wire: one JSON-RPC request (web3.py's validation middleware would add two
eth_chainId round trips around every eth_call)."""

from __future__ import annotations

from typing import Any

from tests.support.world import World


def test_a_contract_read_is_one_eth_call_with_no_chain_id_round_trips(world: World) -> None:
    provider = world.chain.w3.provider
    methods: list[str] = []
    inner = provider.make_request

    def spy(method: Any, params: Any) -> Any:
        methods.append(str(method))
        return inner(method, params)

    provider.make_request = spy  # type: ignore[method-assign]  # a spy on the real provider, removed below
    provider._request_func_cache = ((), spy)  # web3 composes the middlewares over make_request once, and caches it
    try:
        world.system.market.escrowed()
    finally:
        del provider.make_request  # the class's own method again
        del provider._request_func_cache
    assert methods == ["eth_call"]
