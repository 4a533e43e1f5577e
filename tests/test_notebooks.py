"""Every notebook in notebooks/ runs top to bottom in a fresh kernel, says only figures it computes, and is committed
with its outputs (so that it renders on GitHub). New notebooks are picked up by the glob; each must say in ``QUOTED``
which figures its prose quotes (an empty list is an answer)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import with_traces

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RUNNABLE = with_traces(NOTEBOOKS)

# The figures each notebook's prose quotes, checked against what the notebook computes. Each entry is a phrase of the
# notebook, copied as written (it must be found in one of its cells, whitespace aside: reword the prose and this test
# fails until the check follows), and a Python expression, evaluated in the notebook's namespace after its last cell,
# that holds when the phrase is true. ``about(x, quoted, tolerance)`` is there for the figures the prose rounds.
# ``SETUP`` runs before the checks, for what a phrase says about a run the notebook only suggests.
QUOTED: dict[str, list[tuple[str, str]]] = {
    "01-quickstart.ipynb": [
        ("in two private /26 subnets that takes a five-minute spike",
         "[x.cidr.prefixlen for x in sc.vpc.subnets] == [26, 26]"
         " and fn.arrivals[1].schedule[-1][0] - fn.arrivals[1].schedule[1][0] == 300"),
        ("each group of three takes an address", "f['slots_per_eni'] == 3"),
        ("for a moment the function holds far more environments than Little's law predicts",
         "res.summary['peak_environments'] >= 1.5 * f['projected_peak']"),
        ("both subnets go from /26 to /25 (123 usable addresses each instead of 59)",
         "[x.cidr.prefixlen for x in bigger.vpc.subnets] == [25, 25]"
         " and [x.usable_ips for x in bigger.vpc.subnets] == [123, 123]"
         " and [x.usable_ips for x in sc.vpc.subnets] == [59, 59]"),
        ("that is the headroom the bigger subnets bought",
         "all(cmp.b.summary['subnets'][k]['min_free_ips'] > cmp.a.summary['subnets'][k]['min_free_ips']"
         " for k in ('app-a', 'app-b'))"),
    ],
    "02-sizing-subnets.ipynb": [
        ("The load ramps up during a one-minute warm-up, runs at 50/s, then a spike climbs to 400/s for two minutes",
         "base.warmup == 60 and (lambda s: s[1] == (60, 50) and max(r for _, r in s) == 400"
         " and [t for t, r in s if r == 400] == [150, 270])(base.functions[0].arrivals[0].schedule)"),
        ("Executions take a median 300 ms (p99 1.5 s)",
         "(base.functions[0].duration.median, base.functions[0].duration.p99) == (0.3, 1.5)"),
        ("a bucket of 100 `CreateNetworkInterface` calls, refilled at 5 per second",
         "(base.region.ec2_api.bucket, base.region.ec2_api.refill_per_s) == (100, 5)"),
        ("A /27 has 27 usable addresses (32 minus the 5 AWS reserves), a /26 59, a /25 123; two subnets double that",
         "grid.groupby('subnets')['addresses'].first().to_dict() == {'2 x /27': 54, '2 x /26': 118, '2 x /25': 246}"),
        ("At 512 and 1024 MB the two agree",
         "(per_memory.loc[[512, 1024], 'ENIs: doc formula'] == per_memory.loc[[512, 1024], 'ENIs: packing']).all()"),
        ("At 1280 MB one ENI holds `floor(3072 / 1280) = 2` environments, not 2.4, and at 2048 MB one, not 1.5",
         "per_memory.loc[1280, 'envs per ENI'] == 2 and per_memory.loc[2048, 'envs per ENI'] == 1"),
        ("the formula **undercounts** the addresses the peak needs by about a sixth and a third",
         "about(short[1280] / per_memory.loc[1280, 'ENIs: packing'], 1 / 6, 0.02)"
         " and about(short[2048] / per_memory.loc[2048, 'ENIs: packing'], 1 / 3, 0.02)"),
        ("At 3008 MB the formula counts 0.98 of an ENI per environment where a real ENI still serves one",
         "round(3008 / 3072, 2) == 0.98 and per_memory.loc[3008, 'envs per ENI'] == 1"),
        ("Where the projected peak is above it, the simulated peak stops at the ceiling and the rest fails",
         "(lambda g: len(g) > 0 and (g['simulated peak'] == g['ceiling (closed form)']).all()"
         " and (g['failure rate'] > 0).all())(grid[grid['projected peak'] > grid['ceiling (closed form)']])"),
        ("Where it is below, the run can still fail",
         "((grid['projected peak'] < grid['ceiling (closed form)']) & (grid['failure rate'] > 0)).any()"),
        ("Going from 1024 to 2048 MB takes the environments per ENI from 3 to 1: the same peak needs three times the"
         " addresses",
         "per_memory.loc[1024, 'envs per ENI'] == 3 and per_memory.loc[2048, 'envs per ENI'] == 1"
         " and per_memory.loc[2048, 'ENIs: packing'] == 3 * per_memory.loc[1024, 'ENIs: packing']"),
        ("At 2048 and 3008 MB the spike needs new ENIs faster than EC2's `CreateNetworkInterface` rate allows: even"
         " where addresses suffice, a few cold starts fail with `EC2ThrottledException`",
         "(lambda g: set(g['memory MB']) == {2048, 3008} and (g['simulated peak'] < g['ceiling (closed form)']).all()"
         " and (g['failure rate'] < 0.01).all())(grid[grid['main cause'] == 'ec2_throttled'])"),
    ],
    "03-real-trace.ipynb": [
        ("the 100-function sample", "len(meta) == len(base.functions) == 100"),
        ("8 hours from 08:00 to 16:00", "counts.shape[1] == 8 * 60"),
        ("one column per minute (480 … 959)",
         "(lambda c: (c[0], c[-1], len(c)) == ('480', '959', 480))"
         "([c for c in pd.read_csv(SAMPLE / 'invocations.csv', nrows=0).columns if c.isdigit()])"),
        ("so almost every function gets 128 MB, 24 environments per ENI",
         "(fns['memory_mb'] == 128).mean() >= 0.7 and cap['functions'][busiest]['slots_per_eni'] == 24"),
        ("here two /24 subnets in two AZs",
         "[x.cidr.prefixlen for x in base.vpc.subnets] == [24, 24] and len({x.az for x in base.vpc.subnets}) == 2"),
        ("A /24 pair never runs out here",
         "s['outcomes']['subnet_ips'] == 0 and all(v['min_free_ips'] > 0 for v in s['subnets'].values())"),
        ("So the hundred functions each need their own ENI as soon as they run", "(per_fn['peak_enis'] > 0).sum() == 100"),
        ("keeps its environment (10 min keep-alive) and then its ENI (10 min idle release)",
         "all(f.keep_alive.value == 600 for f in base.functions) and base.vpc.eni_idle_release == 600"),
        ("the busiest function — four fifths of all calls, at 128 MB 24 environments per ENI — needs only three",
         "about(per_fn.at[busiest, 'invocations'] / s['invocations'], 4 / 5, 0.01) and fns.at[busiest, 'memory_mb'] == 128"
         " and cap['functions'][busiest]['slots_per_eni'] == 24 and per_fn.at[busiest, 'peak_enis'] == 3"),
        ("AWS keeps 5 addresses of every subnet: 11, 27, 59, 123, 251 usable",
         "[with_subnets(p).vpc.subnets[0].usable_ips for p in (28, 27, 26, 25, 24)] == [11, 27, 59, 123, 251]"),
        ("other workloads that already hold 220 addresses in each subnet (31 left for Lambda)",
         "subnet_table.at['/24 pair, 220 in use', 'addresses for Lambda'] == 2 * 31"),
        ("A plain /24 pair would have suffered nothing: at the worst moment more than 200 addresses were still free in"
         " each subnet",
         "s['failed'] == 0 and all(v['min_free_ips'] > 200 for v in s['subnets'].values())"),
        ("/27 and /28 pairs fail from the first two minutes",
         "all(runs[k].summary['first_outcome_s']['subnet_ips'] < 120 for k in ('/27 pair', '/28 pair'))"),
        ("or when other workloads have already taken most of it",
         "runs['/24 pair, 220 in use'].summary['outcomes']['subnet_ips'] > 0"),
        ("in the /27 run they are spread over every half hour of the 8",
         "(lambda t: (t.groupby(t['t_s'] // 1800)['subnet_ips'].sum() > 0).sum() == 16)(runs['/27 pair'].timeseries)"),
        ("a /26 pair is the smallest that holds it",
         "runs['/26 pair'].summary['failed'] == 0 and runs['/27 pair'].summary['failed'] > 0"),
        ("An ENI then serves 3 environments instead of 24: the busy function needs more ENIs, but most functions"
         " still need exactly one",
         "vs.capacity(big)['functions'][busiest]['slots_per_eni'] == 3"
         " and r1024['functions'][busiest]['peak_enis'] > per_fn.at[busiest, 'peak_enis']"
         " and sum(f['peak_enis'] == 1 for f in r1024['functions'].values()) > len(r1024['functions']) / 2"),
        ("it gives a couple of ENIs", "account_formula <= 4"),
        ("it gives about one ENI per function", "about(per_function_formula / len(base.functions), 1, 0.1)"),
        ("the formula says **4 ENIs**", "account_formula == 4"),
        ("a /28 pair (22 addresses), which the replay shows failing thousands of invocations in the 8 hours",
         "subnet_table.at['/28 pair', 'addresses for Lambda'] == 22"
         " and 1000 <= subnet_table.at['/28 pair', 'failed (no address)'] < 10_000"),
        ("about one ENI for each of the 100 functions, although they are never all live at once",
         "about(per_function_formula, 100, 5) and need < 100"),
        ("a peak of about 74 addresses in the first minutes of a cold start, 56–72 in steady operation",
         "need == 74 and t_peak <= 20 * 60 and (int(settled.min()), int(settled.max())) == (56, 72)"),
        ("the 500-function sample (3 million invocations) needs about 370 ENIs at its peak, more than the legacy"
         " regional ENI quota of 350, so about 170 invocations fail with `ENILimitReachedException` although the /24"
         " pair still has room",
         "about(r500['invocations'], 3e6, 0.05e6) and about(r500_quota['peak_enis'], 370, 5)"
         " and sc500.region.eni_quota == 350 and r500['failed'] == r500['outcomes']['eni_limit']"
         " and about(r500['outcomes']['eni_limit'], 170, 10) and all(v['min_free_ips'] > 0 for v in"
         " r500['subnets'].values())"),
        ("`--set region.eni_quota=5000` removes the failures (about 186 of the 251 addresses of the busier subnet used"
         " at the peak)",
         "r500_quota['failed'] == 0 and about(max(v['peak_ips_used'] for v in r500_quota['subnets'].values()), 186, 3)"
         " and all(v['usable_ips'] == 251 for v in r500_quota['subnets'].values())"),
    ],
    "04-from-a-template.ipynb": [
        ("Two SAM functions share `Globals.Function`: 1024 MB, 30 s, arm64, and a `VpcConfig` in two private /26"
         " subnets whose default route is a NAT gateway",
         "(API.memory_mb, API.timeout) == (1024, 30) and {f.architecture for f in infra.functions} == {'arm64'}"
         " and all(x.cidr.prefixlen == 26 and x.route == 'nat' for x in sc.vpc.subnets)"),
        ("The API function keeps 20 environments warm", "API.provisioned_concurrency == 20"),
        ("the worker overrides memory and timeout and reserves 100 executions",
         "(WORKER.memory_mb, WORKER.timeout, WORKER.reserved_concurrency) == (2048, 120, 100)"),
        ("At 1024 MB one ENI holds `floor(3072 / 1024) = 3` environments, and two /26 subnets have `2 × 59` usable"
         " addresses",
         "vs.capacity(sc)['functions']['orders-api']['slots_per_eni'] == 3"
         " and [x.usable_ips for x in sc.vpc.subnets] == [59, 59]"),
        ("so the API function runs out of addresses at `118 × 3 = 354` concurrent executions, long before the account"
         " limit. Losing one AZ halves that.",
         "(lambda c: c['subnet_ips'] == 354 < c['concurrency'] and c['n_minus_1'] == 354 // 2)"
         "(vs.capacity(sc)['functions']['orders-api']['ceilings'])"),
        ("a steady 50 calls per second on the API with a two-minute launch spike to 3,000/s",
         "(lambda a: a[0].rate == 50 and [t for t, r in a[1].schedule if r == 3000] == [360, 480])"
         "(SPIKE_API.arrivals)"),
        ("By Little's law the spike needs about `3050 × 0.167 s ≈ 511` concurrent executions: more than the 354 the"
         " subnets allow",
         "cap['projected_peak'] == 511 and round(SPIKE_API.duration.mean, 3) == 0.167"
         " and cap['binding'] == 'subnet_ips' and cap['ceilings']['subnet_ips'] == 354"),
        ("within seconds of the spike's start both subnets have handed out their last address",
         "all(300 < v['exhausted_s'] < 310 for v in s['subnets'].values())"),
        ("new environments also wait 6-15 s for their ENI",
         "(spike.vpc.eni_attach.median, spike.vpc.eni_attach.p99) == (6, 15)"),
        ("concurrency is pinned at the ceiling the addresses allow",
         "(lambda t: t.loc[t['t_s'].between(360, 475), 'concurrency_max'].min() >= 0.95 * s['peak_concurrency'])"
         "(res.timeseries)"),
        ("about a third of the calls fail with `SubnetIPAddressLimitReachedException` until the spike is over",
         "about(s['failure_rate'], 1 / 3, 0.02) and s['failed'] == s['outcomes']['subnet_ips']"
         " and (lambda t: t.loc[t['subnet_ips'] > 0, 't_s'].max() < 540)(res.timeseries)"),
        ("Two /24 subnets (251 usable addresses each) give the API function `502 × 3 = 1506` executions, and the"
         " addresses stop failing",
         "[x.usable_ips for x in wider.vpc.subnets] == [251, 251] and res2.summary['outcomes']['subnet_ips'] == 0"
         " and vs.capacity(wider)['functions']['orders-api']['ceilings']['subnet_ips'] == 1506"),
        ("about one call in a thousand", "0.0005 <= res2.summary['failure_rate'] <= 0.002"),
        ("the spike creates some 300 ENIs in seconds, and EC2's `CreateNetworkInterface` bucket (100, then 5 per"
         " second) throttles the rest",
         "250 <= res2.summary['peak_enis'] <= 350"
         " and (wider.region.ec2_api.bucket, wider.region.ec2_api.refill_per_s) == (100, 5)"
         " and res2.summary['failed'] == res2.summary['outcomes']['ec2_throttled'] > 0"),
    ],
    "05-headroom-and-cost.ipynb": [
        ("an API function in two /26 subnets on the legacy VPC platform, taking a five-minute spike",
         "sc.platform == 'legacy' and [x.cidr.prefixlen for x in sc.vpc.subnets] == [26, 26]"
         " and (lambda s: s[-1][0] - s[1][0] == 300)(sc.functions[0].arrivals[1].schedule)"),
        ("the 6-15 s wait for a new ENI", "(sc.vpc.eni_attach.median, sc.vpc.eni_attach.p99) == (6, 15)"),
        ("The mean (144) fits the 98 free addresses x 3 environments; the peak does not.",
         "f['projected_peak'] == 144 and sum(x.usable_ips - x.ips_in_use for x in sc.vpc.subnets) == 98"
         " and f['slots_per_eni'] == 3 and f['projected_peak'] <= 98 * 3 < f['peak_in_service']"),
        ("The run agrees: the spike fills both subnets to the last address.",
         "all(v['min_free_ips'] == 0 for v in s['subnets'].values())"),
        ("`monthly_usd` scales it to 30 days",
         "about(c['monthly_usd'], c['total_usd'] * 30 * 86400 / c['window_s'], 1e-6)"),
        ("with 50 environments kept warm by provisioned concurrency",
         "variants['x86_64 + 50 provisioned'].functions[0].provisioned_concurrency == 50"),
        ("arm64 bills a GB-second 20% lower",
         "about(vs.simulate(variants['arm64']).summary['cost']['compute_usd'] / c['compute_usd'], 0.8, 1e-4)"),
        ("here: at most 1% failed invocations", "h.conditions == ['failure_rate <= 1%']"),
        ("until it is known within 2%", "h.resolution == 0.02"),
        ("Two replications per point", "h.replications == 2"),
        ("The design takes almost twice its load (x1.88) before more than 1% of invocations fail",
         "round(h.multiplier, 2) == 1.88"),
        ("what appears first just above it is `subnet_ips`", "h.first_outcome == 'subnet_ips'"),
        ("The points marked as guides held in their first replication only; the answer held in both.",
         "(lambda t: ((t['runs'] == 1) & t['held']).where(~t['verified'], True).all()"
         " and t.loc[t['multiplier'] == h.multiplier, 'runs_held'].item() == 2)(h.table())"),
        ("The closed form is lower", "h.closed_form['multiplier'] < h.multiplier"),
        ("At 512 MB six environments share an ENI: the spike fits the subnets and the month costs less.",
         "(lambda r: r[512]['slots_per_eni'] == 6 and r[512]['error_rate'] == 0"
         " and r[512]['peak_enis'] < r[512]['free_ips'] and r[512]['monthly_usd'] < r[1024]['monthly_usd'])"
         "({x['memory_mb']: x for x in rows})"),
        ("At 2048 MB each environment needs its own address: the subnets run out early and the failures climb.",
         "(lambda r: r[2048]['slots_per_eni'] == 1 and r[2048]['peak_enis'] == r[2048]['free_ips']"
         " and r[2048]['error_rate'] > r[1024]['error_rate'] + 0.1)({x['memory_mb']: x for x in rows})"),
    ],
}
SETUP = {
    # The run the last paragraph suggests (`vpcsim import azure2019 .../500`, then `vpcsim run`), and the same with
    # `--set region.eni_quota=5000`: the importer's defaults are the command's.
    "03-real-trace.ipynb": """
sc500 = vs.scenario_from_dict(import_azure2019(SAMPLE.parent / "500").data)
r500 = vs.simulate(sc500).summary
r500_quota = vs.simulate(sc500.with_changes({"region.eni_quota": 5000})).summary
""",
    "04-from-a-template.ipynb": """
API, WORKER = (next(f for f in sc.functions if f.name == n) for n in ("orders-api", "OrdersWorker"))
SPIKE_API = next(f for f in spike.functions if f.name == "orders-api")
""",
}
CHECK = r"""
def about(x, quoted, tolerance):
    return abs(x - quoted) <= tolerance


__wrong = []
for __phrase, __holds in {quoted!r}:
    try:
        if not eval(__holds):
            __wrong.append(f"{{__phrase!r}}: {{__holds}}")
    except Exception as __exc:
        __wrong.append(f"{{__phrase!r}}: {{__holds}} ({{type(__exc).__name__}}: {{__exc}})")
assert not __wrong, "the prose says what the notebook does not compute:\n" + "\n".join(__wrong)
"""


def _text(cells) -> str:
    return re.sub(r"\s+", " ", " ".join(c.source for c in cells))


def test_the_tutorial_notebooks_exist():
    assert {"01-quickstart.ipynb", "02-sizing-subnets.ipynb"} <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_quoted_phrase_is_in_the_notebook(path: Path):
    assert path.name in QUOTED, f"say in QUOTED which figures {path.name} quotes"
    text = _text(nbformat.read(path, as_version=4).cells)
    missing = [phrase for phrase, _ in QUOTED[path.name] if re.sub(r"\s+", " ", phrase) not in text]
    assert not missing, f"reworded? update QUOTED: {missing}"


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.name)
def test_notebook_runs_in_a_fresh_kernel_and_computes_the_figures_it_quotes(path: Path):
    nb = nbformat.read(path, as_version=4)
    # After its last cell, the checks of QUOTED run in the notebook's namespace (in memory: the file is unchanged).
    nb.cells.append(nbformat.v4.new_code_cell(SETUP.get(path.name, "") + CHECK.format(quoted=QUOTED[path.name])))
    # The kernel starts in notebooks/, as when a person opens the file; a failing cell raises CellExecutionError
    # with that cell's source and traceback.
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_with_outputs_and_prose(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    prose = [c for c in nb.cells if c.cell_type == "markdown"]
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "starts with a title"
    assert len(prose) >= 3, "a story: prose between the cells"
    assert code and all(c.execution_count is not None for c in code), "run every cell before committing"
    counts = [c.execution_count for c in code]
    assert counts == sorted(counts), "run top to bottom (Restart & Run All) before committing"
    assert any(c.outputs for c in code), "committed with outputs"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"], "committed with an error output"
