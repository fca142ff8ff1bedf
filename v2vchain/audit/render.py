"""Rows as a table, CSV or JSON: the one renderer every `v2v audit` answer goes through."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from .errors import InvalidFilter

FORMATS = ("table", "csv", "json")


def render(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None) -> str:
    if fmt not in FORMATS:
        raise InvalidFilter(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        return json.dumps(list(rows), indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and value.startswith("0x") and len(value) > 14:
        return value[:8] + ".." + value[-4:]  # the table is for reading; CSV and JSON carry the full values
    return str(value)
