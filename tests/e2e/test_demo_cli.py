"""The README's main command, run as a user runs it: the real CLI in a subprocess, on each kind of chain."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from v2vchain.chain.anvil import ANVIL_DEV_KEY, start_anvil


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "v2vchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def _assert_complete_trade(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "award: seller-A at 90 units/Wh" in out
    assert "seller-A withdraws 1.755 VEC" in out
    assert "buyer withdraws 1.245 VEC" in out
    assert ": conserved" in out


def test_demo_runs_one_trade_to_settlement_on_the_embedded_chain() -> None:
    _assert_complete_trade(run_cli("demo"))


@pytest.mark.anvil
def test_demo_runs_one_trade_to_settlement_on_anvil() -> None:
    _assert_complete_trade(run_cli("demo", "--chain", "anvil"))


@pytest.mark.anvil
def test_demo_runs_against_a_plain_json_rpc_url_waiting_in_real_time() -> None:
    """Any EVM JSON-RPC URL: no dev-only RPCs are used, the demo waits for the chain's own clock."""
    anvil = start_anvil(extra_args=("--block-time", "1"))
    try:
        result = run_cli(
            "demo",
            "--chain",
            anvil.url,
            "--bidding-seconds",
            "15",
            "--lead-seconds",
            "1",
            env={"V2V_PRIVATE_KEY": ANVIL_DEV_KEY},
        )
    finally:
        anvil.stop()
    _assert_complete_trade(result)
    assert "chain: rpc" in result.stdout
    assert "clock: a block every ~1 s" in result.stdout
    assert "waiting for the bidding deadline at " in result.stdout


@pytest.mark.anvil
def test_demo_on_an_automining_url_chain_stops_and_says_how_to_start_the_chain() -> None:
    """A plain anvil mines only on transactions: its clock stands still and no deadline would ever pass."""
    anvil = start_anvil()
    try:
        result = run_cli(
            "demo", "--chain", anvil.url, "--block-wait-seconds", "2", env={"V2V_PRIVATE_KEY": ANVIL_DEV_KEY}
        )
    finally:
        anvil.stop()
    assert result.returncode == 1, result.stdout
    assert "its clock does not move" in result.stderr and "`anvil --block-time 1`" in result.stderr
    assert "Traceback" not in result.stderr
    assert "clock: waiting up to 2 s for a new block" in result.stdout


@pytest.mark.anvil
def test_demo_refuses_a_bidding_time_too_short_for_its_own_bids_before_deploying() -> None:
    anvil = start_anvil(extra_args=("--block-time", "1"))
    try:
        result = run_cli("demo", "--chain", anvil.url, "--bidding-seconds", "3", env={"V2V_PRIVATE_KEY": ANVIL_DEV_KEY})
    finally:
        anvil.stop()
    assert result.returncode == 1
    assert "--bidding-seconds 3 is too short for this chain" in result.stderr
    assert "at least 12 s" in result.stderr and "Traceback" not in result.stderr
    assert "deployed" not in result.stdout


def test_url_chain_without_a_key_is_refused_with_a_clear_message() -> None:
    env = {k: v for k, v in os.environ.items() if k != "V2V_PRIVATE_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "v2vchain.cli", "demo", "--chain", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1
    assert "V2V_PRIVATE_KEY" in result.stderr and "Traceback" not in result.stderr


def test_unknown_chain_name_is_refused_with_a_clear_message() -> None:
    result = run_cli("demo", "--chain", "mainnet-please")
    assert result.returncode == 1
    assert "unknown chain" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.anvil
def test_the_clearing_demo_clears_delivers_conserves_and_refuses_a_forged_order() -> None:
    """An operator node and two vehicle nodes through the batch Clearing, as `v2v demo --market clearing` runs it."""
    result = run_cli("demo", "--chain", "anvil", "--nodes", "2", "--market", "clearing")
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "1 of 1 trades opened" in out
    assert "its route (UTC, the cells the chain will publish): u33dc " in out  # buyer-1's commute, cloaked
    assert "buyer-1 met seller-1: seller verified True, sealed point sent True" in out
    assert "buyer-1 confirmed" in out and "receipt delivered" in out
    assert ": conserved" in out
    assert "POST /p2p/orders: 401" in out
    assert "the contract reverts with InvalidOrderSignature" in out
    assert "0 of the forged nonce" in out
