"""Random fleets for tests and benchmarks: N vans on task routes from a depot in a city, some parked, a few stations.
Seeded: the same (n, seed, city) gives the same fleet."""

from __future__ import annotations

import math
import random
from typing import Any

from v2vchain.matching.meeting import haversine_m

CITIES = {"beijing": (39.93, 116.40), "london": (51.507, -0.128), "shanghai": (31.23, 121.47)}
DAY0 = 1_767_571_200  # 2026-01-05 00:00 UTC, the generated fleets' day


def _offset(lat: float, lon: float, rng: random.Random, radius_km: float) -> tuple[float, float]:
    r = radius_km * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    return (
        round(lat + r * math.cos(a) / 111.2, 5),
        round(lon + r * math.sin(a) / (111.2 * math.cos(math.radians(lat))), 5),
    )


def random_fleet(
    n: int,
    seed: int = 0,
    city: str = "beijing",
    radius_km: float = 15.0,
    road_factor: float = 1.3,
    parked_share: float = 0.1,
    low_soc_share: float = 0.35,
    split_share: float = 0.3,
) -> dict[str, Any]:
    rng = random.Random(seed)
    lat0, lon0 = CITIES[city]
    depot = _offset(lat0, lon0, rng, radius_km / 4)
    n_st = max(2, math.isqrt(n))
    stations = [
        {
            "id": f"CS{i + 1:03d}",
            "lat": p[0],
            "lon": p[1],
            "power_w": 50_000,
            "price_per_kwh": 150,
            "queue_min": rng.choice([0, 0, 5, 10, 20]),
            "efficiency_bps": 9_700,
        }
        for i, p in enumerate(_offset(lat0, lon0, rng, radius_km) for _ in range(n_st))
    ]
    vans = []
    for i in range(n):
        speed = rng.choice([25, 30, 35, 40])
        cons = rng.randint(220, 320)
        battery = 80_000
        low = rng.random() < low_soc_share
        soc = battery * (rng.randint(11, 22) if low else rng.randint(50, 95)) // 100
        van = {
            "id": f"V{i + 1:04d}",
            "soc_wh": soc,
            "battery_wh": battery,
            "consumption_wh_per_km": cons,
            "v2v_power_w": 30_000,
            "v2v_efficiency_bps": 9_700,
            "speed_kmh": speed,
            "soc_floor_bps": 1_000,
            "split": rng.random() < split_share,
        }
        if rng.random() < parked_share:
            p = _offset(lat0, lon0, rng, radius_km)
            start = DAY0 + 7 * 3600 + rng.randint(0, 4) * 1800
            van["place"] = {"lat": p[0], "lon": p[1], "arrive_ts": start, "depart_ts": start + rng.randint(2, 8) * 3600}
        else:
            stops = [depot] + [_offset(lat0, lon0, rng, radius_km) for _ in range(rng.randint(2, 4))] + [depot]
            t = DAY0 + 6 * 3600 + rng.randint(0, 12) * 600
            route = [{"lat": depot[0], "lon": depot[1], "arrive_ts": t, "depart_ts": t}]
            for k in range(1, len(stops)):
                d = haversine_m(*stops[k - 1], *stops[k]) * road_factor
                t += math.ceil(d * 3.6 / speed) + rng.choice([0, 600, 1200, 1800, 3600])  # drive + slack
                service = 0 if k == len(stops) - 1 else rng.choice([600, 900, 1200])
                route.append({"lat": stops[k][0], "lon": stops[k][1], "arrive_ts": t, "depart_ts": t + service})
                t += service
            van["route"] = route
        vans.append(van)
    return {
        "name": f"{city}-{n}-seed{seed}",
        "road_factor": road_factor,
        "prices": {
            "currency": "CNY",
            "decimals": 2,
            "time_cost_per_h": 500,
            "energy_per_kwh": 100,
            "battery_wear_per_kwh": 5,
        },
        "stations": stations,
        "vans": vans,
    }
