"""Distributions of SPEC §1: the analytic mean against sampling, the written forms, and their validation errors.

Tolerance of the mean checks: each of 5 seeds draws N = 200,000 values; the sample mean must lie within 4 standard
errors (4 * sd / sqrt(N)) of the analytic mean, and so must the mean over all seeds (4 * sd / sqrt(5 N)). A wrong
formula (e.g. the lognormal's mean taken as its median, the normal's mean ignoring the truncation) misses by far
more than that.
"""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from simulator.scenario.distributions import (
    Constant,
    DistributionSpec,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    Normal,
    Uniform,
)

SPEC = TypeAdapter(DistributionSpec)
N = 200_000
SEEDS = (0, 1, 2, 3, 4)


def dist(value):
    return SPEC.validate_python(value)


FORMS = {
    "bare duration": "120ms",
    "constant": {"dist": "constant", "value": "2s"},
    "exponential": {"dist": "exponential", "mean": "300ms"},
    "uniform": {"dist": "uniform", "low": "100ms", "high": "1.1s"},
    "lognormal median/p99": {"dist": "lognormal", "median": "120ms", "p99": "900ms"},
    "lognormal mean/cv": {"dist": "lognormal", "mean": "0.5s", "cv": 1.5},
    "gamma": {"dist": "gamma", "mean": "300ms", "cv": 0.7},
    "gamma cv>1": {"dist": "gamma", "mean": 2, "cv": 2.0},
    "normal (little truncation)": {"dist": "normal", "mean": "1s", "sd": "100ms"},
    "normal (heavy truncation)": {"dist": "normal", "mean": "50ms", "sd": "200ms"},
    "normal at 0": {"dist": "normal", "mean": 0, "sd": 1},
    "empirical": {"dist": "empirical", "percentiles": {0: "10ms", 25: "40ms", 50: "80ms", 75: "200ms", 99: "2s",
                                                       100: "5s"}},
}


@pytest.mark.parametrize("name", list(FORMS))
def test_analytic_mean_matches_the_sampled_mean(name):
    d = dist(FORMS[name])
    means = []
    for seed in SEEDS:
        x = d.sample(np.random.default_rng(seed), N)
        assert x.shape == (N,)
        assert (x >= 0).all(), "durations are never negative"
        sd = float(x.std())
        means.append(float(x.mean()))
        assert abs(means[-1] - d.mean) <= 4 * sd / math.sqrt(N) + 1e-12, (name, seed, means[-1], d.mean)
    assert abs(np.mean(means) - d.mean) <= 4 * sd / math.sqrt(N * len(SEEDS)) + 1e-12


def test_the_analytic_means_by_hand():
    # lognormal {median m, p99 q}: sigma = ln(q/m) / z99, mean = m * exp(sigma^2 / 2)
    sigma = math.log(0.9 / 0.12) / 2.3263478740408408
    assert dist(FORMS["lognormal median/p99"]).mean == pytest.approx(0.12 * math.exp(sigma**2 / 2), rel=1e-12)
    assert dist(FORMS["lognormal mean/cv"]).mean == 0.5
    assert dist(FORMS["uniform"]).mean == pytest.approx(0.6)
    # empirical: the area under the piecewise-linear quantile function
    expected = 0.25 * (0.01 + 0.04) / 2 + 0.25 * (0.04 + 0.08) / 2 + 0.25 * (0.08 + 0.2) / 2 + 0.24 * (0.2 + 2) / 2 \
        + 0.01 * (2 + 5) / 2
    assert dist(FORMS["empirical"]).mean == pytest.approx(expected, rel=1e-12)
    # normal truncated at 0, mean 0: sd * sqrt(2/pi) (the half-normal)
    assert dist(FORMS["normal at 0"]).mean == pytest.approx(math.sqrt(2 / math.pi), rel=1e-12)


def test_truncated_normal_mean_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    for mu, sd in ((0.05, 0.2), (1.0, 0.1), (0.0, 3.0), (2.0, 5.0)):
        ours = Normal(mean=mu, sd=sd).mean
        theirs = stats.truncnorm(a=-mu / sd, b=np.inf, loc=mu, scale=sd).mean()
        assert ours == pytest.approx(theirs, rel=1e-9)


def test_lognormal_median_and_p99_are_the_written_ones():
    d = dist(FORMS["lognormal median/p99"])
    x = d.sample(np.random.default_rng(7), 400_000)
    assert np.median(x) == pytest.approx(0.12, rel=0.01)
    assert np.quantile(x, 0.99) == pytest.approx(0.9, rel=0.03)


def test_lognormal_and_gamma_cv_are_the_written_ones():
    for form in ("lognormal mean/cv", "gamma"):
        d = dist(FORMS[form])
        x = d.sample(np.random.default_rng(3), 400_000)
        assert x.std() / x.mean() == pytest.approx(FORMS[form]["cv"], rel=0.05)


def test_empirical_hits_its_percentiles():
    d = dist(FORMS["empirical"])
    x = d.sample(np.random.default_rng(11), 400_000)
    # The share of draws at or below each written value, within 4 binomial standard errors (in value space the
    # error would depend on the slope of the quantile function, steep between p75 and p99).
    for p, v in ((25, 0.04), (50, 0.08), (75, 0.2), (99, 2.0)):
        q = p / 100
        assert abs(np.mean(x <= v) - q) <= 4 * math.sqrt(q * (1 - q) / len(x))
    assert x.min() >= 0.01 and x.max() <= 5.0


def test_constant_and_bare_duration_are_exact():
    assert dist("120ms") == Constant(value=0.12)
    assert (dist(0.5).sample(np.random.default_rng(0), 10) == 0.5).all()


def test_same_generator_state_same_draws():
    for name, form in FORMS.items():
        a = dist(form).sample(np.random.default_rng(42), 1000)
        b = dist(form).sample(np.random.default_rng(42), 1000)
        assert np.array_equal(a, b), name


# --------------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("form", "message"), [
    ({"dist": "lognormal", "median": "1s"}, "needs both median and p99"),
    ({"dist": "lognormal", "p99": "1s"}, "needs both median and p99"),
    ({"dist": "lognormal", "mean": "1s"}, "needs both mean and cv"),
    ({"dist": "lognormal", "cv": 0.5}, "needs both mean and cv"),
    ({"dist": "lognormal", "median": "1s", "p99": "2s", "cv": 1}, "not both"),
    ({"dist": "lognormal"}, "needs {median, p99} or {mean, cv}"),
    ({"dist": "lognormal", "median": "2s", "p99": "1s"}, "p99 must be above the median"),
    ({"dist": "lognormal", "median": "1s", "p99": "1s"}, "p99 must be above the median"),
    ({"dist": "uniform", "low": "2s", "high": "1s"}, "high must be >= low"),
    ({"dist": "empirical", "percentiles": {0: 1, 50: 2}}, "need the keys 0 and 100"),
    ({"dist": "empirical", "percentiles": {50: 2, 100: 3}}, "need the keys 0 and 100"),
    ({"dist": "empirical", "percentiles": {}}, "need the keys 0 and 100"),
    ({"dist": "empirical", "percentiles": {-5: 0, 0: 1, 100: 2}}, "need the keys 0 and 100"),
    ({"dist": "empirical", "percentiles": {0: 1, 50: 3, 100: 2}}, "must not decrease"),
    ({"dist": "empirical", "percentiles": {0: -1, 100: 2}}, "greater than or equal to 0"),
    ({"dist": "exponential", "mean": 0}, "greater than 0"),
    ({"dist": "gamma", "mean": 1, "cv": 0}, "greater than or equal to 0.001"),
    ({"dist": "normal", "mean": 1, "sd": 0}, "greater than 0"),
    ({"dist": "weibull", "mean": 1}, "unknown distribution 'weibull'"),
    ({"mean": 1}, "needs `dist:`"),
    ({"dist": "constant", "value": "10 minutes"}, "not a duration: '10 minutes'"),
    ({"dist": "exponential", "mean": 1, "median": 1}, "Extra inputs are not permitted"),
    ("fast", "not a duration: 'fast'"),
    (True, "not a duration: True"),
])
def test_invalid_distributions_are_refused_with_a_reason(form, message):
    with pytest.raises(ValidationError) as info:
        dist(form)
    assert message in str(info.value)


def test_distributions_are_frozen():
    d = dist(FORMS["empirical"])
    with pytest.raises(ValidationError):
        d.dist = "constant"  # type: ignore[misc]
    with pytest.raises(TypeError, match="immutable"):
        d.percentiles[50] = 1.0
    with pytest.raises(TypeError, match="immutable"):
        d.percentiles.update({50: 1.0})
    assert d.mean == dist(FORMS["empirical"]).mean


def test_distributions_pickle_and_copy_to_equal_values():
    for form in FORMS.values():
        d = dist(form)
        assert pickle.loads(pickle.dumps(d)) == d
        assert copy.deepcopy(d) == d


@pytest.mark.parametrize("form", [f for f in FORMS.values() if isinstance(f, dict)])
def test_a_dumped_distribution_validates_back_to_itself(form):
    d = dist(form)
    assert dist(d.model_dump(mode="json", by_alias=True, exclude_none=True)) == d


@pytest.mark.parametrize(("cls", "kwargs"), [
    (Exponential, {"mean": 1}), (Uniform, {"low": 0, "high": 1}), (Lognormal, {"median": 1, "p99": 2}),
    (Gamma, {"mean": 1, "cv": 1}), (Empirical, {"percentiles": {0: 0, 100: 1}}),
])
def test_describe_names_the_form(cls, kwargs):
    assert cls(**kwargs).describe().startswith(cls.model_fields["dist"].default)
