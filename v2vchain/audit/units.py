"""Numbers as a person reads them: token amounts in the token's decimals and symbol, energy in kWh, prices per kWh,
times in ISO 8601 UTC, role flags by name.

The one place the audit CLI, the HTML report and the node's dashboard turn integers into text. Exact integer
arithmetic only (no float ever touches an amount); machine outputs (CSV, JSON) keep the raw integers. A token whose
decimals() or symbol() reverts or answers nonsense gets raw units with a label saying so, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector

from v2vchain.audit.store import Store
from v2vchain.chain.clock import utc
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER
from v2vchain.protocol.routes import Route

MAX_DECIMALS = 36  # no real token has more; a larger answer is hostile or broken
MAX_SYMBOL = 16
WH_PER_KWH = 1_000
RAW = "units"  # what a raw amount is called when the token's own units are unknown
DECIMALS_CALL = "0x" + function_signature_to_4byte_selector("decimals()").hex()
SYMBOL_CALL = "0x" + function_signature_to_4byte_selector("symbol()").hex()
META_KEY = "token_units"  # where the index keeps what the token answered (JSON)
ROLE_NAMES = ((ROLE_BUYER, "buyer"), (ROLE_SELLER, "seller"))


def _decimal(value: int, places: int) -> str:
    """value / 10**places exactly, thousands grouped, trailing zeros of the fraction dropped."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**places)
    text = f"{whole:,}"
    if places and fraction:
        text += "." + str(fraction).rjust(places, "0").rstrip("0")
    return sign + text


@dataclass(frozen=True)
class TokenUnits:
    """The token's display units: decimals and symbol as it answered them, or None and why not (raw units)."""

    decimals: int | None
    symbol: str
    problem: str = ""  # why amounts are raw: empty when the token's own units are used

    @property
    def known(self) -> bool:
        return self.decimals is not None

    @property
    def label(self) -> str:
        """What the amounts are in, for a header or a note."""
        if self.decimals is None:
            return f"raw token units ({self.problem})"
        return f"{self.symbol} ({self.decimals} decimals)"

    def amount(self, units: int | None) -> str:
        """1755000 with 6 decimals and symbol VEC -> '1.755 VEC'; raw: '1,755,000 units'."""
        if units is None:
            return "-"
        if self.decimals is None:
            return f"{_decimal(units, 0)} {RAW}"
        return f"{_decimal(units, self.decimals)} {self.symbol}"

    def price_per_kwh(self, units_per_wh: int | None) -> str:
        """A price in token units per Wh as token per kWh: 90 units/Wh with 6 decimals -> '0.09 VEC/kWh'."""
        if units_per_wh is None:
            return "-"
        return f"{self.amount(units_per_wh * WH_PER_KWH)}/kWh"

    def as_json(self) -> dict[str, object]:
        return {"decimals": self.decimals, "symbol": self.symbol, "known": self.known, "label": self.label}

    @staticmethod
    def raw(problem: str) -> TokenUnits:
        return TokenUnits(None, RAW, problem)


def energy(wh: int | None) -> str:
    """Wh as kWh, exact: 1500 -> '1.5 kWh', 19500 -> '19.5 kWh', 5 -> '0.005 kWh'."""
    return "-" if wh is None else f"{_decimal(wh, 3)} kWh"


def when(timestamp: int | None) -> str:
    """Unix seconds as ISO 8601 UTC: '2026-11-30T10:20:14Z'; '-' for none; out of range said so, not raised."""
    return "-" if timestamp is None else utc(timestamp)


def route_text(route: Route | None) -> str:
    """A published route's cells and times: 'u33dc 2026-11-30T07:10:00Z..2026-11-30T07:20:00Z -> u336x ...'."""
    if route is None:
        return "parked"
    return " -> ".join(f"{w.cell} {when(w.arrive_ts)}..{when(w.depart_ts)}" for w in route.waypoints)


def roles(flags: int) -> str:
    """The Registry's role flags by name: 1 -> 'buyer', 3 -> 'buyer, seller'; unknown bits named, 0 -> 'none'."""
    names = [name for bit, name in ROLE_NAMES if flags & bit]
    rest = flags & ~sum(bit for bit, _ in ROLE_NAMES)
    if rest:
        names.append(f"unknown role bits {rest:#x}")
    return ", ".join(names) or "none"


# ---------------------------------------------------------------- what the token answers


def parse_decimals(answer: str) -> int:
    """decimals()'s return data as an int, or ValueError saying what is wrong with it."""
    raw = _bytes(answer)
    if len(raw) != 32:
        raise ValueError(f"decimals() returned {len(raw)} bytes, not one uint8")
    return _sane_decimals(int.from_bytes(raw, "big"))


def _sane_decimals(value: int) -> int:
    if not 0 <= value <= MAX_DECIMALS:
        raise ValueError(f"decimals() returned {value}, not 0 to {MAX_DECIMALS} as every real token")
    return value


def parse_symbol(answer: str) -> str:
    """symbol()'s return data: an ABI string, or a bytes32 (older tokens), printable, short and without spaces."""
    raw = _bytes(answer)
    try:
        text = raw.rstrip(b"\0").decode() if len(raw) == 32 else str(abi_decode(["string"], raw)[0])
    except (DecodingError, UnicodeDecodeError, OverflowError) as exc:
        raise ValueError(f"symbol() returned no string ({type(exc).__name__})") from None
    return _sane_symbol(text)


def _sane_symbol(text: str) -> str:
    if not text or len(text) > MAX_SYMBOL or not text.isprintable() or any(c.isspace() for c in text):
        raise ValueError(f"symbol() returned {text[:40]!r}: not 1 to {MAX_SYMBOL} printable characters")
    return text


def _bytes(answer: str) -> bytes:
    try:
        return bytes.fromhex(answer[2:] if answer.startswith("0x") else answer)
    except ValueError:
        raise ValueError("the answer is not hex") from None


def read_token_units(call: Callable[[str], str]) -> TokenUnits:
    """Ask the token for its decimals and symbol (call(data) -> return data as hex, ValueError when the token
    refuses, e.g. reverts); anything wrong with either answer gives raw units, with the reason."""
    try:
        decimals = parse_decimals(call(DECIMALS_CALL))
        symbol = parse_symbol(call(SYMBOL_CALL))
    except ValueError as exc:
        return TokenUnits.raw(f"the token's {exc}")
    return TokenUnits(decimals, symbol)


def checked_units(decimals: int, symbol: str) -> TokenUnits:
    """What a token client read, checked as the index's answers are: raw units, with the reason, if absurd."""
    try:
        return TokenUnits(_sane_decimals(decimals), _sane_symbol(symbol))
    except ValueError as exc:
        return TokenUnits.raw(f"the token's {exc}")


def to_meta(units: TokenUnits) -> str:
    return json.dumps({"decimals": units.decimals, "symbol": units.symbol, "problem": units.problem})


def from_meta(text: str | None) -> TokenUnits:
    """What the index recorded; raw units when nothing was (an index the token was never asked for)."""
    if text is None:
        return TokenUnits.raw("the index has not read the token's decimals yet: run `v2v audit index`")
    try:
        held = json.loads(text)
        if held["decimals"] is None:
            return TokenUnits.raw(str(held["problem"]))
        return TokenUnits(_sane_decimals(int(held["decimals"])), _sane_symbol(str(held["symbol"])))
    except (ValueError, KeyError, TypeError):
        return TokenUnits.raw("the index's record of the token is unreadable")


def index_units(store: Store) -> TokenUnits:
    """The units of the token an index holds, as its indexer recorded them."""
    return from_meta(store.meta(META_KEY))
