"""Writes tests/fleet/data/beijing9.json: the 9-van Beijing case of Ye et al. 2025 (DOMAIN seed 002), read off its
data tables. What the tables do not give is assumed here (see ASSUMED) and stated in the fleet's `name`.

Usage: .venv/bin/python scripts/make_beijing9.py   (writes beijing9.json and beijing9_en_route.json)
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from v2vchain.fleet.generate import DAY0
from v2vchain.matching.meeting import haversine_m

# node: (lon, lat, earliest h, latest h) -- task points 1..21; 22..25 are stations; 26 the distribution centre
NODES = {
    1: (116.321, 39.959, 8.0, 8.5),
    2: (116.365, 39.961, 7.0, 7.5),
    3: (116.357, 39.981, 8.0, 8.5),
    4: (116.328, 40.002, 9.0, 9.5),
    5: (116.223, 39.991, 9.0, 9.5),
    6: (116.461, 39.909, 7.0, 8.0),
    7: (116.447, 39.937, 7.5, 8.0),
    8: (116.403, 39.934, 7.0, 7.5),
    9: (116.519, 39.924, 8.0, 8.5),
    10: (116.548, 39.962, 9.0, 9.5),
    11: (116.385, 39.907, 7.5, 8.0),
    12: (116.331, 39.903, 8.0, 8.5),
    13: (116.423, 39.916, 7.0, 7.5),
    14: (116.422, 39.874, 8.0, 8.5),
    15: (116.408, 39.904, 7.0, 7.5),
    16: (116.495, 39.879, 8.0, 9.5),
    17: (116.417, 39.892, 8.5, 9.0),
    18: (116.354, 39.870, 7.0, 7.5),
    19: (116.302, 39.895, 9.0, 9.5),
    20: (116.374, 39.899, 8.0, 8.5),
    21: (116.278, 39.904, 9.0, 9.5),
    22: (116.270, 39.960, 0.0, 0.0),
    26: (116.472, 39.992, 0.0, 0.0),
}
STATIONS = {22: (116.270, 39.960), 23: (116.350, 39.920), 24: (116.450, 39.920), 25: (116.550, 39.900)}
ROUTES = {
    1: [13, 21],
    2: [11, 12, 4],
    3: [15, 3],
    4: [9, 19],
    5: [2, 18, 7],
    6: [5, 22],
    7: [16, 1, 20],
    8: [8, 14],
    9: [10, 6, 17],
}
SOC_PCT = [80.8, 19.6, 92.1, 91.0, 75.1, 14.4, 90.0, 18.3, 12.8]

ASSUMED = dict(
    consumption_wh_per_km=280,
    speed_kmh=30,
    road_factor=1.3,
    depart_depot_h=6.5,
    service_min=15,
    shift_end_h=11.5,
    battery_wear_per_kwh=0,
    queue_min=0,
)


def build(energy_per_kwh: int = 150, en_route: bool = False) -> dict:
    """energy_per_kwh: the fleet's own (depot) energy price; the tables give only the station price, 150 fen/kWh.
    en_route: the plan starts when each van is at its first task point (its SOC less the depot leg), so no meeting
    can happen at the depot before departure."""
    a = ASSUMED
    vans = []
    for vid, stops in ROUTES.items():
        t = DAY0 + int(a["depart_depot_h"] * 3600)
        lon, lat = NODES[26][:2]
        route = [{"lat": lat, "lon": lon, "arrive_ts": t, "depart_ts": t}]
        for node in stops + [26]:
            nlon, nlat, te, _tl = NODES[node]
            d = haversine_m(lat, lon, nlat, nlon) * a["road_factor"]
            t += math.ceil(d * 3.6 / a["speed_kmh"])
            if node == 26:  # due back at the end of the shift (or when it gets there, if later)
                t = max(t, DAY0 + int(a["shift_end_h"] * 3600))
                route.append({"lat": nlat, "lon": nlon, "arrive_ts": t, "depart_ts": t})
                break
            t = max(t, DAY0 + int(te * 3600))  # waits for the window to open; a late arrival is kept (soft window)
            route.append({"lat": nlat, "lon": nlon, "arrive_ts": t, "depart_ts": t + a["service_min"] * 60})
            t += a["service_min"] * 60
            lon, lat = nlon, nlat
        soc = round(80_000 * SOC_PCT[vid - 1] / 100)
        if en_route:
            d0 = haversine_m(route[0]["lat"], route[0]["lon"], route[1]["lat"], route[1]["lon"]) * a["road_factor"]
            soc -= math.ceil(d0 * a["consumption_wh_per_km"] / 1000)
            route = route[1:]
        vans.append(
            {
                "id": f"EV{vid}",
                "route": route,
                "soc_wh": soc,
                "battery_wh": 80_000,
                "consumption_wh_per_km": a["consumption_wh_per_km"],
                "v2v_power_w": 30_000,
                "v2v_efficiency_bps": 9_700,
                "speed_kmh": a["speed_kmh"],
                "soc_floor_bps": 1_000,
                "split": False,
            }
        )
    return {
        "name": f"beijing9{'-en-route' if en_route else ''} (Ye et al. 2025 tables; assumed: "
        + ", ".join(f"{k}={v}" for k, v in ASSUMED.items())
        + f", energy_per_kwh={energy_per_kwh})",
        "road_factor": a["road_factor"],
        "prices": {
            "currency": "CNY",
            "decimals": 2,
            "time_cost_per_h": 500,
            "energy_per_kwh": energy_per_kwh,
            "battery_wear_per_kwh": a["battery_wear_per_kwh"],
        },
        "stations": [
            {
                "id": f"CS{k}",
                "lat": lat,
                "lon": lon,
                "power_w": 50_000,
                "price_per_kwh": 150,
                "queue_min": a["queue_min"],
                "efficiency_bps": 9_700,
            }
            for k, (lon, lat) in STATIONS.items()
        ],
        "vans": vans,
    }


if __name__ == "__main__":
    data = Path(__file__).resolve().parents[1] / "tests/fleet/data"
    for fname, kw in (("beijing9.json", {}), ("beijing9_en_route.json", {"en_route": True})):
        (data / fname).write_text(json.dumps(build(**kw), indent=1) + "\n")
        print(f"wrote {data / fname}")
