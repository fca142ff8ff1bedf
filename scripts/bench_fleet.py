"""Plan time and saving for random fleets of 10, 100 and 1,000 vans (scripts/gen_fleet.py's generator, seed 0).

Up to 200 vans the MILP sees every feasible (provider, consumer, leg, leg) option; above, only the k cheapest
providers per consumer (--k-best, default 5) among the 40 nearest, which keeps HiGHS exact within a few seconds;
with k = 10 the split consumers' model hits the time limit (the plan is then the best found, gap printed).

Each size runs with every --meetings-per-leg (default 1 and 3: how many consumers a provider may meet on one leg).

Usage: .venv/bin/python scripts/bench_fleet.py [--sizes 10 100 1000] [--seed 0] [--k-best 10] [--meetings-per-leg 1 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from v2vchain.fleet import parse_fleet, plan_fleet
from v2vchain.fleet.generate import random_fleet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k-best", type=int, default=5)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--exact-up-to", type=int, default=200)
    ap.add_argument("--meetings-per-leg", type=int, nargs="+", default=[1, 3])
    a = ap.parse_args()
    print(
        f"{'vans':>6} {'M/leg':>5} {'cons':>5} {'prov':>5} {'options':>8} {'pruning':>8} {'meet':>5} {'stn':>4} "
        f"{'plan s':>7} {'cpu s':>6} {'V2V CNY':>10} {'stations':>10} {'saving %':>8} {'recharge %':>10} {'optimal':>9}"
    )
    for n in a.sizes:
        for m in a.meetings_per_leg:
            f = parse_fleet(random_fleet(n, seed=a.seed))
            k = None if n <= a.exact_up_to else a.k_best
            t, cpu = time.perf_counter(), time.process_time()
            p = plan_fleet(f, k_best=k, time_limit_s=a.time_limit, meetings_per_leg=m)
            dt, dcpu = time.perf_counter() - t, time.process_time() - cpu
            print(
                f"{n:>6} {m:>5} {len(p.needs):>5} {len(p.spares):>5} {p.n_edges:>8} "
                f"{('k=' + str(k)) if k else 'none':>8} {len(p.meetings):>5} {len(p.stations):>4} {dt:>7.2f} "
                f"{dcpu:>6.2f} {p.cost_v2v / 100:>10.2f} {p.cost_stations_only / 100:>10.2f} {p.saving_pct:>8.2f} "
                f"{p.replenish_saving_pct:>10.2f} {'yes' if p.optimal else f'gap {p.mip_gap:.2%}':>9}"
            )


if __name__ == "__main__":
    main()
