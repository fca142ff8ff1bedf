"""`v2v audit report`: one self-contained HTML page (plots embedded as PNG data URIs), a statement page per vehicle
that traded, and the trades as CSV/JSON (raw integers, for machines)."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from v2vchain.audit.ledger.market import Ledger

from . import plots
from .reconcile import reconcile
from .render import render
from .statement import shown, statement
from .store import Store
from .trades import GRID_EXPORT_PER_WH, GRID_IMPORT_PER_WH, TABLE_COLUMNS, Trade, table_rows, trade_rows, trades
from .units import TokenUnits, index_units, roles, when

_STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    ".bad{color:#b00}.ok{color:#070}img{max-width:100%}"
)
VEHICLES = "vehicles"  # the folder of the statement pages, one <address>.html each


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _cell(value: Any, link: str = "") -> str:
    text = html.escape(str(value))
    return f'<a href="{html.escape(link)}">{text}</a>' if link else text


def _table(rows: list[dict[str, Any]], columns: Sequence[str], links: dict[str, str] | None = None) -> str:
    """Rows as an HTML table; a column named in links gets each cell linked to links[column] formatted with it."""
    links = links or {}
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{_cell(r.get(c, ''), links[c].format(r[c]) if c in links and r.get(c) else '')}</td>" for c in columns
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def write_report(
    store: Store, out: Path, *, grid_import: int = GRID_IMPORT_PER_WH, grid_export: int = GRID_EXPORT_PER_WH
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    units = index_units(store)
    ledger = Ledger.from_store(store)
    all_trades = trades(ledger)
    result = reconcile(ledger, store)
    rows = trade_rows(all_trades)
    (out / "trades.csv").write_text(render(rows, "csv", list(rows[0]) if rows else list(TABLE_COLUMNS)))
    (out / "trades.json").write_text(render(rows, "json"))
    vehicles = sorted({t.buyer for t in all_trades} | {t.seller for t in all_trades})
    (out / VEHICLES).mkdir(exist_ok=True)
    for vehicle in vehicles:
        s = statement(ledger, vehicle, store.chain_id)
        mine = [t for t in all_trades if vehicle in (t.buyer, t.seller)]
        (out / VEHICLES / f"{vehicle}.html").write_text(statement_page(s, mine, units))
    t, a = result.totals, units.amount
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
    open_escrow = t["escrows"] + t.get("clearing_escrows", 0)
    body = f"""<h1>V2V energy trading audit</h1>
<p>Chain {store.chain_id}, blocks {t["first_block"]}..{t["last_block"]}: {t["events"]} events, {t["requests"]} requests,
{t["trades"]} trades. Built from indexed chain events alone. Amounts in {html.escape(units.label)}, energy in kWh,
prices per kWh, times UTC.</p>
<h2>Reconciliation</h2>
<p>Market token balance {a(t["token_balance"])} against free {a(t["free"])} + locked {a(t["locked"])} + escrows
{a(t["escrows"])} + sunk {a(t["sunk"])} = {a(t["books"])}.</p>{verdict}
<h2>Money in flight and forfeited</h2>
{_table([_money(all_trades, t, open_escrow, units)], ("paid", "refunded", "open escrow", "penalties forfeited"))}
<h2>Price over time</h2>{_img(plots.price_over_time(all_trades, units, grid_import, grid_export), "price over time")}
<h2>Volume per day</h2>{_img(plots.volume_per_day(all_trades), "volume per day")}
<h2>Savings per vehicle</h2>
<p>Against the grid: a buyer saves (import {units.price_per_kwh(grid_import)} - price) per kWh delivered, a seller
gains (price - export {units.price_per_kwh(grid_export)}) per kWh.</p>
{_img(plots.savings_per_vehicle(all_trades, units, grid_import, grid_export), "savings per vehicle")}
{_table([{"vehicle": v, "saving": a(s)} for v, s in saved], ("vehicle", "saving"), {"vehicle": VEHICLES + "/{}.html"})}
<h2>Trades</h2>
{_table(table_rows(all_trades, units), TABLE_COLUMNS, {c: VEHICLES + "/{}.html" for c in ("buyer", "seller")})}
<p>Also as <a href="trades.csv">CSV</a> and <a href="trades.json">JSON</a> (raw integers: Wh, token units, token units
per Wh, unix seconds). Each vehicle links to its statement.</p>"""
    path = out / "index.html"
    path.write_text(_page(f"V2V audit, chain {store.chain_id}", body))
    return path


def _money(all_trades: Sequence[Trade], t: dict[str, int], open_escrow: int, units: TokenUnits) -> dict[str, str]:
    return {
        "paid": units.amount(sum(x.paid for x in all_trades)),
        "refunded": units.amount(sum(x.refund for x in all_trades)),
        "open escrow": units.amount(open_escrow),
        "penalties forfeited": units.amount(t["sunk"] + t.get("clearing_sunk", 0)),
    }


def statement_page(s: dict[str, Any], mine: Sequence[Trade], units: TokenUnits) -> str:
    """One vehicle's statement (the `v2v audit vehicle` answer) and its trades, in the units a person reads."""
    reg = s["registration"]
    facts = [("status", reg["status"])]
    if "roles" in reg:
        facts += [("roles", roles(reg["roles"])), ("issuer", reg["issuer"]), ("expires", when(reg["expiry"]))]
    if reg.get("did"):
        facts.append(("DID", reg["did"]))
    sections = "".join(
        f"<h2>{html.escape(name.replace('_', ' '))}</h2>"
        + _table([{k.replace("_", " "): shown(k, v, units) for k, v in s[name].items()}], _keys(s[name]))
        for name in ("bought", "sold", "escrow", "account", "clearing_account")
        if name in s
    )
    obligations = [
        {
            "what": str(o.get("trade") or f"request {o['request']}"),
            "role": o["role"],
            "to do": o["what"],
            "amount": units.amount(o["amount"]),
            "due": when(o["due"]),
        }
        for o in s["open_obligations"]
    ]
    body = (
        f'<p><a href="../index.html">the audit</a></p><h1>Vehicle {html.escape(s["vehicle"])}</h1>'
        + _table([{k: v for k, v in facts}], [k for k, _ in facts])
        + sections
        + "<h2>Open obligations</h2>"
        + (_table(obligations, ("what", "role", "to do", "amount", "due")) if obligations else "<p>none</p>")
        + "<h2>Trades</h2>"
        + _table(table_rows(mine, units), TABLE_COLUMNS, {c: "{}.html" for c in ("buyer", "seller")})
        + f"<p>Amounts in {html.escape(units.label)}.</p>"
    )
    return _page(f"V2V statement of {s['vehicle']}", body)


def _keys(section: dict[str, Any]) -> list[str]:
    return [k.replace("_", " ") for k in section]
