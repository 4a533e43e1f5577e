"""Many-functions benchmark (issue #11): the cost of one invocation and the memory of one function, from 1 to 10,000
functions carrying the same total load.

    python benchmarks/bench_functions.py                          # N = 1, 100, 1000, 3000, 10000; 200,000 invocations
    python benchmarks/bench_functions.py -N 1 1000 -n 100000      # other sizes
    python benchmarks/bench_functions.py --json                   # one JSON object per N
    python benchmarks/bench_functions.py --steady 5               # + each N 5x as long: cost per extra invocation

The scenario: N functions in a legacy VPC (two /16 subnets, quotas and the EC2 API bucket far above the load, so no
limit binds), Poisson arrivals of ``n / 200 s`` per second in total split evenly, exponential durations whose mean
differs a little from one function to the next (150..250 ms; functions that differ are evaluated one by one by the
capacity figures, as in a real account), memory 128..1024 MB in 64 MB steps. Keep-alive outlasts the run: each
function cold-starts once, so N = 10,000 adds 10,000 cold starts (5 % of 200,000 invocations) to the same load.

Each N runs in a fresh process, which reports CPU seconds (``time.process_time``) of the engine (``simulate_once``) and
of building the result (``build_result``: the recorder's summary, the capacity figures and lint, cost, time series),
both per invocation, and its peak RSS; ``(capacity)`` is the share of the result that the closed forms of
``capacity()`` take (timed again on a fresh copy of the scenario). Memory per function is
``(peak RSS at N - peak RSS at 1) / (N - 1)``: the total load is the same, so what grows is what each function holds.
Target: end-to-end cost per invocation at 10,000 functions within 1.3x of 1 function. The public API only, so the same
file measures an older checkout.

``--steady X`` separates the two costs that the figure per invocation mixes: each N also runs X times as long at the
same rates; the difference in CPU seconds over the difference in invocations is what an invocation costs once every
function is warm (near-flat means: this does not grow with N), and what is left is what each function costs once
(its random streams, its first cold start with its ENI, its closed forms).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

HORIZON_S = 200.0
KEEP_ALIVE_S = 3600.0  # outlasts the run (and a --steady run up to 18 times as long): one cold start per function


def scenario_dict(n_functions: int, invocations: int, horizon_s: float = HORIZON_S) -> dict:
    """The benchmark's scenario as a dict (``simulator.scenario_from_dict``): ``invocations`` in ``HORIZON_S``
    seconds, over ``horizon_s`` (longer: the same rate for longer)."""
    rate = invocations / HORIZON_S / n_functions
    functions = []
    for i in range(n_functions):
        spread = i / max(1, n_functions - 1)  # 0..1 across the functions
        functions.append({
            "name": f"fn-{i:05d}",
            "memory_mb": 128 + 64 * (i % 15),
            "subnets": ["a", "b"],
            "timeout": "15m",
            "keep_alive": KEEP_ALIVE_S,
            "duration": {"dist": "exponential", "mean": f"{150 + 100 * spread:.4f}ms"},
            "arrivals": {"process": "poisson", "rate": rate},
        })
    return {
        "version": 1,
        "name": f"bench-functions-{n_functions}",
        "duration": horizon_s,
        "timestep": "10s",
        "platform": "legacy",
        "region": {"concurrency_limit": 100_000, "scaling": {"model": "unlimited"}, "eni_quota": 100_000,
                   "ec2_api": {"bucket": 100_000, "refill_per_s": 100_000}},
        "vpc": {"subnets": [{"id": "a", "az": "us-east-1a", "cidr": "10.0.0.0/16"},
                            {"id": "b", "az": "us-east-1b", "cidr": "10.1.0.0/16"}]},
        "functions": functions,
    }


def _build_result():
    """``build_result`` of this checkout (its module moved to ``simulator.analysis`` in the package redesign)."""
    try:
        from simulator.analysis.results import build_result
    except ImportError:  # the layout before the redesign
        from simulator.results import build_result
    return build_result


def child(n_functions: int, invocations: int, horizon_s: float = HORIZON_S) -> dict:
    """One measurement, in this (fresh) process."""
    import resource

    import simulator as vs
    from simulator.engine import simulate_once

    build_result = _build_result()
    spec = scenario_dict(n_functions, invocations, horizon_s)
    sc = vs.scenario_from_dict(spec)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.process_time()
    engine = simulate_once(sc, 1)
    t1 = time.process_time()
    result = build_result(engine)
    t2 = time.process_time()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The closed forms' share of building the result: capacity() of a fresh copy of the scenario (nothing cached).
    fresh = vs.scenario_from_dict(spec)
    t3 = time.process_time()
    vs.capacity(fresh)
    t4 = time.process_time()
    done = result.summary["invocations"]
    return {
        "functions": n_functions,
        "invocations": done,
        "cold_starts": result.summary.get("cold_starts"),
        "engine_us": (t1 - t0) / done * 1e6,
        "result_us": (t2 - t1) / done * 1e6,
        "capacity_us": (t4 - t3) / done * 1e6,
        "total_us": (t2 - t0) / done * 1e6,
        "engine_s": t1 - t0,
        "result_s": t2 - t1,
        "capacity_s": t4 - t3,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss,
    }


def measure(n_functions: int, invocations: int, horizon_s: float = HORIZON_S) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", str(n_functions), str(invocations), str(horizon_s)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def steady(functions: list[int], invocations: int, longer: float) -> None:
    """Each N at the same rates for HORIZON_S and for ``longer`` times as long: the difference is what the extra
    invocations cost once every function is warm (CPU µs each, engine and result), the rest is what each function
    costs once (its streams, its first cold start, its closed forms)."""
    print(f"{'functions':>9} {'invocations':>11} {'more':>9} {'µs per extra invocation':>23} {'x first':>7} "
          f"{'ms per function once':>20}")
    first = None
    for n in functions:
        short = measure(n, invocations)
        long = measure(n, invocations, HORIZON_S * longer)
        cpu = [r["engine_s"] + r["result_s"] for r in (short, long)]
        extra = long["invocations"] - short["invocations"]
        per_inv = (cpu[1] - cpu[0]) / extra * 1e6
        first = first or per_inv
        once = (cpu[0] - per_inv * 1e-6 * short["invocations"]) / n * 1e3
        print(f"{n:>9,} {short['invocations']:>11,} {extra:>9,} {per_inv:>23.2f} {per_inv / first:>7.2f} "
              f"{once:>20.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-N", "--functions", type=int, nargs="+", default=[1, 100, 1000, 3000, 10000],
                    help="numbers of functions (default 1 100 1000 3000 10000)")
    ap.add_argument("-n", "--invocations", type=int, default=200_000, help="total invocations (default 200,000)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line instead of the table")
    ap.add_argument("--steady", type=float, metavar="X", help="also run each N X times as long at the same rates, "
                    "and print the cost of an extra invocation and the cost of a function once (e.g. --steady 5)")
    ap.add_argument("--child", nargs=3, type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), int(args.child[1]), args.child[2])))
        return
    if args.steady is not None:
        # Longer than 1 (a difference to measure), and at most 18: 200 s x 18 stays within the 1 h keep-alive, so
        # the longer run has no second cold starts to count as a cost per invocation.
        if not 1 < args.steady <= KEEP_ALIVE_S / HORIZON_S:
            ap.error(f"--steady: X must be above 1 and at most {KEEP_ALIVE_S / HORIZON_S:g} (got {args.steady:g})")
        if args.json:
            ap.error("--steady prints its own table; leave out --json")
        steady(args.functions, args.invocations, args.steady)
        return
    rows = [measure(n, args.invocations) for n in args.functions]
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return
    first = rows[0]
    print(f"{'functions':>9} {'invocations':>11} {'engine µs':>9} {'result µs':>9} {'(capacity)':>10} {'total µs':>8} "
          f"{'x first':>7} {'peak MB':>7} {'bytes/fn':>8}")
    for r in rows:
        grown = r["peak_rss_mb"] - first["peak_rss_mb"]
        more = r["functions"] - first["functions"]
        per_fn = f"{grown * 2**20 / more:,.0f}" if more > 0 else "-"
        print(f"{r['functions']:>9,} {r['invocations']:>11,} {r['engine_us']:>9.1f} {r['result_us']:>9.1f} "
              f"{r['capacity_us']:>10.1f} {r['total_us']:>8.1f} {r['total_us'] / first['total_us']:>7.2f} {r['peak_rss_mb']:>7.0f} "
              f"{per_fn:>8}")


if __name__ == "__main__":
    main()
