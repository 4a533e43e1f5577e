"""Engine benchmark (issue #3): the full legacy-VPC model against a bare SimPy callback loop of the same size.

    python benchmarks/bench_engine.py                 # 1,000,000 invocations, best of 3 of each, rates and ratio
    python benchmarks/bench_engine.py --memory        # also peak memory for 1x and 10x the invocations, and for
                                                      # the same invocations inside a 30-day horizon

(a) the full model: Poisson 1000/s, exponential 200 ms, 1024 MB, two roomy /20 subnets, legacy platform;
(b) a bare SimPy loop doing nothing but arrive/finish with the same arrival and duration draws.
Target: (a) at half of (b)'s rate or better; peak memory for 10x the invocations within 1.5x of 1x, and for the
first 1x invocations of a 30-day run (1,000/s, 10 s time steps) within 1.5x of 1x: memory must not grow with the
horizon (only the time series, one row per step, does).
Each measurement runs in a fresh process so that peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

SCENARIO = """
version: 1
name: bench-legacy-vpc
duration: {duration}
timestep: 10s
region: {{concurrency_limit: 10000, scaling: {{model: unlimited}}, eni_quota: 5000}}
vpc:
  subnets:
    - {{id: a, az: us-east-1a, cidr: 10.0.0.0/20}}
    - {{id: b, az: us-east-1b, cidr: 10.0.16.0/20}}
functions:
  - name: api
    memory_mb: 1024
    subnets: [a, b]
    timeout: 15m
    duration: {{dist: exponential, mean: 200ms}}
    arrivals: {{process: poisson, rate: 1000}}
"""


def run_model(n: int) -> dict:
    import yaml

    import simulator as vs

    sc = vs.scenario_from_dict(yaml.safe_load(SCENARIO.format(duration=n / 1000.0)))
    t0 = time.perf_counter()
    res = vs.simulate(sc, seed=1)
    wall = time.perf_counter() - t0
    return {"invocations": res.summary["invocations"], "wall_s": wall, "rate": res.summary["invocations"] / wall}


def run_long(n: int, days: float = 30.0) -> dict:
    """The first ``n`` invocations of a ``days``-long run of the same workload (the engine stopped part-way)."""
    import yaml

    import simulator as vs
    from simulator.engine import Engine

    sc = vs.scenario_from_dict(yaml.safe_load(SCENARIO.format(duration=f"{days}d")))
    engine = Engine(sc, 1)
    engine._setup()
    t0 = time.perf_counter()
    engine.loop.run(until=n / 1000.0)
    wall = time.perf_counter() - t0
    done = sum(c["invocations"] for c in engine.rec.counts())
    return {"invocations": done, "wall_s": wall, "rate": done / wall}


def run_bare(n: int) -> dict:
    import numpy as np
    import simpy

    rng = np.random.default_rng(1)
    env = simpy.Environment()
    state = {"done": 0}
    gaps = iter(rng.exponential(1 / 1000.0, n).tolist())
    durs = iter(rng.exponential(0.2, n).tolist())

    def finish(ev):
        state["done"] += 1

    def arrive(ev):
        env.timeout(next(durs)).callbacks.append(finish)
        gap = next(gaps, None)
        if gap is not None:
            env.timeout(gap).callbacks.append(arrive)

    env.timeout(next(gaps)).callbacks.append(arrive)
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    return {"invocations": state["done"], "wall_s": wall, "rate": state["done"] / wall}


def _child(kind: str, n: int) -> dict:
    import resource

    out = {"model": run_model, "bare": run_bare, "long": run_long}[kind](n)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def measure(kind: str, n: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(n)], capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1_000_000, help="invocations (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each, interleaved; the best of each is compared (default 3): on a shared or "
                         "frequency-scaling machine one run of each can be off by a third")
    ap.add_argument("--memory", action="store_true", help="also run 10x the invocations and compare peak memory")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], int(args.child[1]))))
        return
    bares, models = [], []
    for _ in range(max(1, args.repeat)):
        bares.append(measure("bare", args.n))
        models.append(measure("model", args.n))
    bare = max(bares, key=lambda r: r["rate"])
    model = max(models, key=lambda r: r["rate"])
    each = lambda runs: ", ".join(f"{r['rate']:,.0f}" for r in runs)  # noqa: E731
    print(f"bare SimPy loop : {bare['rate']:>10,.0f} invocations/s  best of {len(bares)} ({each(bares)}); "
          f"peak RSS {bare['peak_rss_mb']:.0f} MB")
    print(f"full model      : {model['rate']:>10,.0f} invocations/s  best of {len(models)} ({each(models)}); "
          f"{model['invocations']:,} invocations, peak RSS {model['peak_rss_mb']:.0f} MB")
    print(f"ratio model/bare: {model['rate'] / bare['rate']:.2f}  (target >= 0.50)")
    if args.memory:
        big = measure("model", args.n * 10)
        print(f"full model x10  : {big['rate']:>10,.0f} invocations/s  ({big['invocations']:,} in {big['wall_s']:.2f} s, "
              f"peak RSS {big['peak_rss_mb']:.0f} MB)")
        print(f"memory x10 / x1 : {big['peak_rss_mb'] / model['peak_rss_mb']:.2f}  (target <= 1.50)")
        long = measure("long", args.n)
        print(f"30-day horizon  : {long['invocations']:,} invocations simulated of 2.6 billion, peak RSS "
              f"{long['peak_rss_mb']:.0f} MB")
        print(f"memory 30d / x1 : {long['peak_rss_mb'] / model['peak_rss_mb']:.2f}  (target <= 1.50)")


if __name__ == "__main__":
    main()
