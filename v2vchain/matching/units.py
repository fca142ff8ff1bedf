"""Money units: the payment token has 6 decimals; prices are token units per Wh, so Wh x price is exact."""

from __future__ import annotations

TOKEN = 10**6  # token units in one token; one token stands for GBP 1 in the defaults below
GRID_IMPORT_PER_WH = 150  # ~15 p/kWh (DOMAIN, UK): GBP 0.15 / 1000 Wh = 150 units per Wh
GRID_EXPORT_PER_WH = 50  # ~5 p/kWh
