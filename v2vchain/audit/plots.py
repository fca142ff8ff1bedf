"""The report's figures as PNG bytes, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from .trades import GRID_EXPORT_PER_WH, GRID_IMPORT_PER_WH, Trade
from .units import WH_PER_KWH, TokenUnits


def _scaled(units_amount: int, units: TokenUnits) -> float:
    """An amount as a coordinate in the token's own units. Drawing only: every figure printed as text is exact."""
    return float(units_amount / 10 ** (units.decimals or 0))


def _plain(text: str) -> str:
    """`text` drawn as it is: matplotlib reads what lies between two '$' as math markup, and a token's symbol (what
    the token answers) such as `$^$` or `$\\x$` made the whole report fail with ValueError."""
    return text.replace("$", r"\$")


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _date(ts: int) -> float:
    """A Unix time as matplotlib's date number (days since its epoch), what a date axis plots."""
    return float(mdates.date2num(_utc(ts)))  # type: ignore[no-untyped-call]  # matplotlib.dates has no annotations


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def price_over_time(
    trades: Sequence[Trade],
    units: TokenUnits,
    grid_import: int = GRID_IMPORT_PER_WH,
    grid_export: int = GRID_EXPORT_PER_WH,
) -> bytes:
    """Each trade's price per kWh at its award, between the grid's import and export prices."""
    fig, ax = plt.subplots(figsize=(8, 4))
    by_mechanism: dict[str, list[Trade]] = defaultdict(list)
    for t in trades:
        by_mechanism[t.mechanism].append(t)
    for mechanism, group in sorted(by_mechanism.items()):
        prices = [_scaled(t.price_per_wh * WH_PER_KWH, units) for t in group]
        ax.scatter([_date(t.awarded_at) for t in group], prices, label=mechanism, zorder=3)
    for price, color, name in ((grid_import, "tab:red", "import"), (grid_export, "tab:green", "export")):
        label = _plain(f"grid {name} ({units.price_per_kwh(price)})")
        ax.axhline(_scaled(price * WH_PER_KWH, units), color=color, linestyle="--", label=label)
    ax.set_ylabel(_plain(f"price ({units.symbol} per kWh)"))
    ax.set_title("V2V price over time (UTC)")
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]  # matplotlib.dates has no annotations
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]  # matplotlib.dates has no annotations
    times = [t.awarded_at for t in trades]
    if times and max(times) - min(times) < 3600:  # one moment: show the hour around it, not years
        ax.set_xlim(_date(min(times) - 1800), _date(max(times) + 1800))
    ax.legend(loc="best", fontsize="small")
    return _png(fig)


def volume_per_day(trades: Sequence[Trade]) -> bytes:
    """Energy delivered per UTC day, stacked by mechanism (a clearing's volume shows as its own series)."""
    days: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in trades:
        if t.delivered_wh:
            days[_utc(t.settled_at or t.awarded_at).strftime("%Y-%m-%d")][t.mechanism] += t.delivered_wh
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = sorted(days)
    bottom = [0.0] * len(labels)
    for mechanism in sorted({m for d in days.values() for m in d}):
        heights = [days[d].get(mechanism, 0) / 1000 for d in labels]
        ax.bar(labels, heights, bottom=bottom, label=mechanism)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_ylabel("energy delivered (kWh)")
    ax.set_title("Volume per day")
    if labels:
        ax.legend(fontsize="small")
    return _png(fig)


def savings(
    trades: Sequence[Trade], grid_import: int = GRID_IMPORT_PER_WH, grid_export: int = GRID_EXPORT_PER_WH
) -> dict[str, int]:
    """Per vehicle, in token units: a buyer saves (grid import - price) per Wh delivered, a seller gains
    (price - grid export) over exporting to the grid."""
    out: dict[str, int] = defaultdict(int)
    for t in trades:
        out[t.buyer] += t.delivered_wh * (grid_import - t.price_per_wh)
        out[t.seller] += t.delivered_wh * (t.price_per_wh - grid_export)
    return dict(out)


def savings_per_vehicle(
    trades: Sequence[Trade],
    units: TokenUnits,
    grid_import: int = GRID_IMPORT_PER_WH,
    grid_export: int = GRID_EXPORT_PER_WH,
) -> bytes:
    per = sorted(savings(trades, grid_import, grid_export).items(), key=lambda kv: -kv[1])
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.4 * len(per) + 1)))
    ax.barh([f"{a[:6]}..{a[-4:]}" for a, _ in per], [_scaled(v, units) for _, v in per], color="tab:blue")
    ax.invert_yaxis()
    ax.set_xlabel(_plain(f"saving against the grid ({units.symbol})"))
    ax.set_title("Savings per vehicle")
    return _png(fig)
