"""The one formatting of numbers for people: exact token amounts, kWh, prices per kWh, UTC times, role names, and raw
units with a label for a token whose decimals() or symbol() is hostile."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_abi import encode

from v2vchain.audit.units import (
    DECIMALS_CALL,
    SYMBOL_CALL,
    TokenUnits,
    checked_units,
    energy,
    from_meta,
    read_token_units,
    roles,
    to_meta,
    when,
)

VEC = TokenUnits(6, "VEC")


def _uint(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def _string(text: str) -> str:
    return "0x" + encode(["string"], [text]).hex()


def _token(decimals: str, symbol: str) -> Callable[[str], str]:
    return lambda data: {DECIMALS_CALL: decimals, SYMBOL_CALL: symbol}[data]


def _reverting(data: str) -> str:
    raise ValueError("decimals() call was refused (execution reverted)")


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (1_755_000, "1.755 VEC"),
        (20_000_000, "20 VEC"),
        (1, "0.000001 VEC"),
        (0, "0 VEC"),
        (-2_500_000, "-2.5 VEC"),
        (1_234_567_890_123, "1,234,567.890123 VEC"),
        (2**96 - 1, "79,228,162,514,264,337,593,543.950335 VEC"),
    ],
)
def test_a_token_amount_is_exact_in_the_tokens_decimals_and_symbol(units: int, text: str) -> None:
    assert VEC.amount(units) == text


def test_a_huge_amount_with_18_decimals_loses_no_digit() -> None:
    assert TokenUnits(18, "WETH").amount(10**30 + 1) == "1,000,000,000,000.000000000000000001 WETH"


def test_a_price_per_wh_is_shown_per_kwh_in_token_units() -> None:
    assert VEC.price_per_kwh(90) == "0.09 VEC/kWh"
    assert VEC.price_per_kwh(150) == "0.15 VEC/kWh"


@pytest.mark.parametrize(("wh", "text"), [(1_500, "1.5 kWh"), (19_500, "19.5 kWh"), (5, "0.005 kWh"), (0, "0 kWh")])
def test_energy_in_wh_is_shown_in_kwh(wh: int, text: str) -> None:
    assert energy(wh) == text


def test_times_are_iso_8601_utc_and_an_impossible_time_is_said_not_raised() -> None:
    assert when(1_700_000_000) == "2023-11-14T22:13:20Z"
    assert when(None) == "-"
    assert when(2**80) == f"unix {2**80} (out of range)"


@pytest.mark.parametrize(
    ("flags", "text"),
    [(1, "buyer"), (2, "seller"), (3, "buyer, seller"), (0, "none"), (5, "buyer, unknown role bits 0x4")],
)
def test_role_flags_are_named(flags: int, text: str) -> None:
    assert roles(flags) == text


def test_a_standard_token_is_read_as_its_decimals_and_symbol() -> None:
    assert read_token_units(_token(_uint(6), _string("VEC"))) == VEC


def test_an_old_token_with_a_bytes32_symbol_is_read_too() -> None:
    assert read_token_units(_token(_uint(18), "0x" + b"MKR".ljust(32, b"\0").hex())) == TokenUnits(18, "MKR")


@pytest.mark.parametrize(
    ("decimals", "symbol", "why"),
    [
        (_uint(255), _string("VEC"), "decimals() returned 255"),
        (_uint(2**255), _string("VEC"), "not 0 to 36"),
        ("0x06", _string("VEC"), "returned 1 bytes"),
        ("0xzz", _string("VEC"), "not hex"),
        (_uint(6), "0x" + "ff" * 64, "symbol() returned no string"),
        (_uint(6), _string(""), "symbol() returned ''"),
        (_uint(6), _string("A" * 17), "not 1 to 16 printable"),
        (_uint(6), _string("\x1b[31mRED"), "not 1 to 16 printable"),
        (_uint(6), _string("V\u202eEC"), "not 1 to 16 printable"),
        (_uint(6), _string("TWO WORDS"), "not 1 to 16 printable"),
        (_uint(6), "0x" + b"\xff\xfe".ljust(32, b"\0").hex(), "symbol() returned no string"),
    ],
)
def test_a_hostile_tokens_answers_give_raw_units_with_the_reason(decimals: str, symbol: str, why: str) -> None:
    units = read_token_units(_token(decimals, symbol))
    assert not units.known and why in units.label
    assert units.amount(1_755_000) == "1,755,000 units"
    assert units.price_per_kwh(90) == "90,000 units/kWh"
    assert units.label.startswith("raw token units (the token's ")


def test_a_token_that_reverts_gives_raw_units_saying_so() -> None:
    units = read_token_units(_reverting)
    assert not units.known and "decimals() call was refused (execution reverted)" in units.label


def test_the_index_record_round_trips_and_a_missing_or_tampered_one_is_raw() -> None:
    assert from_meta(to_meta(VEC)) == VEC
    refused = TokenUnits.raw("the token's symbol() call was refused")
    assert from_meta(to_meta(refused)).label == refused.label
    assert "run `v2v audit index`" in from_meta(None).label
    assert not from_meta('{"decimals": 99, "symbol": "VEC"}').known
    assert not from_meta('{"decimals": 6, "symbol": "<b>\\n"}').known
    assert not from_meta("not json").known


def test_what_a_token_client_read_is_checked_as_the_indexs_answers_are() -> None:
    assert checked_units(6, "VEC") == VEC
    assert "decimals() returned 77" in checked_units(77, "VEC").label
    assert "symbol() returned" in checked_units(6, "\x07").label
