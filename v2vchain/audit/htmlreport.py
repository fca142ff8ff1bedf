"""`v2v audit report`: one self-contained HTML page (plots embedded as PNG data URIs) plus the trades as CSV/JSON."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from v2vchain.audit.ledger.market import Ledger

from . import plots
from .reconcile import reconcile
from .render import render
from .store import Store
from .trades import GRID_EXPORT_PER_WH, GRID_IMPORT_PER_WH, TABLE_COLUMNS, trade_rows, trades

_STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    ".bad{color:#b00}.ok{color:#070}img{max-width:100%}"
)


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(rows: list[dict[str, object]], columns: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(
    store: Store, out: Path, *, grid_import: int = GRID_IMPORT_PER_WH, grid_export: int = GRID_EXPORT_PER_WH
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    ledger = Ledger.from_store(store)
    all_trades = trades(ledger)
    result = reconcile(ledger, store)
    rows = trade_rows(all_trades)
    (out / "trades.csv").write_text(render(rows, "csv", list(rows[0]) if rows else list(TABLE_COLUMNS)))
    (out / "trades.json").write_text(render(rows, "json"))
    t = result.totals
    verdict = (
        '<p class="ok">no violations</p>'
        if result.ok
        else f'<p class="bad">{len(result.violations)} violation(s)</p><ul>'
        + "".join(
            f"<li>[{html.escape(f.rule)}] block {f.block} tx <code>{f.tx_hash}</code>: {html.escape(f.message)}</li>"
            for f in result.violations
        )
        + "</ul>"
    )
    saved = sorted(plots.savings(all_trades, grid_import, grid_export).items(), key=lambda kv: -kv[1])
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>V2V audit, chain {store.chain_id}</title>
<style>{_STYLE}</style></head><body>
<h1>V2V energy trading audit</h1>
<p>Chain {store.chain_id}, blocks {t["first_block"]}..{t["last_block"]}: {t["events"]} events, {t["requests"]} requests,
{t["trades"]} trades. Built from indexed chain events alone.</p>
<h2>Reconciliation</h2>
<p>Market token balance {t["token_balance"]} against free {t["free"]} + locked {t["locked"]} + escrows
{t["escrows"]} + sunk {t["sunk"]} = {t["books"]}.</p>{verdict}
<h2>Price over time</h2>{_img(plots.price_over_time(all_trades, grid_import, grid_export), "price over time")}
<h2>Volume per day</h2>{_img(plots.volume_per_day(all_trades), "volume per day")}
<h2>Savings per vehicle</h2>
<p>Against the grid: a buyer saves (import {grid_import} - price) per Wh delivered, a seller gains (price - export
{grid_export}) per Wh.</p>{_img(plots.savings_per_vehicle(all_trades, grid_import, grid_export), "savings per vehicle")}
{_table([{"vehicle": a, "saving": v} for a, v in saved], ("vehicle", "saving"))}
<h2>Trades</h2>{_table(rows, TABLE_COLUMNS)}
<p>Also as <a href="trades.csv">CSV</a> and <a href="trades.json">JSON</a>.</p>
</body></html>"""
    path = out / "index.html"
    path.write_text(page)
    return path
