"""The report's figures draw whatever a token calls itself as plain text."""

from __future__ import annotations

import pytest

from v2vchain.audit.plots import price_over_time, savings_per_vehicle
from v2vchain.audit.trades import Trade
from v2vchain.audit.units import checked_units

PNG = b"\x89PNG"


def _trade() -> Trade:
    return Trade(
        mechanism="auction",
        trade_id="1",
        buyer="0x" + "11" * 20,
        seller="0x" + "22" * 20,
        area_id="0x" + "00" * 32,
        area="",
        energy_wh=1_000,
        price_per_wh=90,
        payment=90_000,
        penalty=9_000,
        status="settled",
        delivered_wh=1_000,
        paid=90_000,
        refund=0,
        opened_at=1_700_000_000,
        awarded_at=1_700_000_600,
        settled_at=1_700_003_600,
        award_tx="0x" + "aa" * 32,
        settle_tx="0x" + "bb" * 32,
    )


@pytest.mark.parametrize("symbol", ["$^$", "$\\x$"])
def test_a_token_symbol_with_math_markup_draws_as_text(symbol: str) -> None:
    """Redteam: matplotlib parsed a hostile token's symbol between '$' as math; `v2v audit report` then failed."""
    units = checked_units(6, symbol)
    assert units.symbol == symbol  # printable, short, no space: the token's own units are used
    assert price_over_time([_trade()], units).startswith(PNG)
    assert savings_per_vehicle([_trade()], units).startswith(PNG)
