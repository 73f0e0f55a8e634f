"""The risk manager's drawdown brake re-arms; paired bootstrap CIs tell strategies apart; challenge metrics."""

from __future__ import annotations

import math

import numpy as np

from fincortex.agents.trading.portfolio import PortfolioSnapshot
from fincortex.agents.trading.risk import PROFILES, DrawdownBrake, RiskProfile, apply_risk
from fincortex.agents.trading.stats import challenge_metrics, paired_sharpe_diff_ci, stationary_indices


def _book(equity: float, weight: float = 0.0) -> PortfolioSnapshot:
    qty = 0.0 if weight == 0 else weight * equity / 100.0
    return PortfolioSnapshot(equity * (1 - weight), qty, 100.0 if qty else 0.0, equity, weight, 1e12, 0.0)


def test_brake_engages_then_releases_when_the_drawdown_halves():
    brake = DrawdownBrake(PROFILES["balanced"])  # engage at 25%, release at 12.5%
    path = [100, 95, 80, 74, 74, 80, 86, 87.6, 90]
    states = [brake.update(e) for e in path]
    assert states[:3] == [False, False, False] and states[3] is True  # 26% under the peak of 100
    assert states[4:7] == [True, True, True]  # 20%, 14% under: still braking (hysteresis)
    assert states[7] is False and states[8] is False  # 12.4% under: re-armed, full exposure allowed again


def test_brake_releases_when_the_old_peak_leaves_the_rolling_window():
    profile = RiskProfile("t", "p", drawdown_brake=0.25, brake_window=10)
    brake = DrawdownBrake(profile)
    states = [brake.update(e) for e in [100] + [70] * 12]  # a 30% fall, then flat: no recovery at all
    assert states[1] is True
    assert states[-1] is False  # 10 days later the peak is 70: the book trades again (used to ratchet forever)


def test_brake_releases_when_the_market_rebounds_and_re_arms_from_there():
    """A book capped at 25% barely wins back its drawdown; once the price is 15% above its low since the brake
    engaged the cap lifts, and the drawdown is measured afresh: a new 25% fall from there brakes again."""
    brake = DrawdownBrake(PROFILES["balanced"])  # brake_rebound 0.15
    steps = [(100, 100), (72, 70), (71, 62), (72, 66), (73, 71.5), (73, 72), (60, 60), (54, 50)]
    states, drawdowns = [], []
    for e, p in steps:
        states.append(brake.update(e, p))
        drawdowns.append(brake.drawdown)
    assert states[:2] == [False, True]  # 28% under the peak
    assert states[2:4] == [True, True]  # low 62; 66 is +6%: still braking, equity 28% under its peak
    assert states[4] is False and drawdowns[4] == 0.0  # 71.5 >= 1.15 x 62: released, peak restarts at 73
    assert states[5:7] == [False, False]  # 60 / 73 = 18% under the new peak: not yet
    assert states[7] is True  # 54 / 73 = 26% under: brakes again (re-armed, not disabled)


def test_brake_without_rebound_rule_waits_for_the_equity():
    profile = RiskProfile("t", "p", brake_rebound=None)
    brake = DrawdownBrake(profile)
    states = [brake.update(e, p) for e, p in [(100, 100), (72, 70), (72, 62), (73, 90)]]
    assert states == [False, True, True, True]


def test_risk_manager_with_brake_recovers_full_exposure():
    profile = PROFILES["balanced"]
    brake = DrawdownBrake(profile)
    weights = [apply_risk(profile, 1.0, _book(e), 100.0, brake=brake).weight for e in (100, 70, 72, 95)]
    assert weights == [1.0, 0.25, 0.25, 1.0]
    # a one-off check without a brake still reads the snapshot's all-time drawdown
    snap = PortfolioSnapshot(700, 0.0, 0.0, 700, 0.0, 1000, 0.0)
    assert apply_risk(profile, 1.0, snap, 100.0).weight == 0.25


def test_stationary_bootstrap_indices_are_blocks():
    idx = stationary_indices(100, 50, 10.0, np.random.default_rng(0))
    steps = np.diff(idx, axis=1) % 100
    assert idx.shape == (50, 100) and idx.min() >= 0 and idx.max() < 100
    assert 0.8 < np.mean(steps == 1) < 0.97  # mostly consecutive days, a new block ~1 in 10


def test_paired_ci_contains_zero_for_identical_and_equal_strategies():
    rng = np.random.default_rng(1)
    market = rng.normal(0.0005, 0.04, 730)
    same = paired_sharpe_diff_ci(market, market.copy(), 365, seed=0)
    assert same["diff"] == 0 and same["ci_low"] <= 0 <= same["ci_high"]
    # two strategies with the same (zero) edge -- in the market on independent coin flips -- over many
    # draws: the 95% interval contains the true difference 0 about 95% of the time (no false edges)
    covered = 0
    for s in range(100):
        r = np.random.default_rng(100 + s)
        m = r.normal(0.0, 0.04, 365)
        ci = paired_sharpe_diff_ci(m * r.integers(0, 2, 365), m * r.integers(0, 2, 365), 365, seed=s, n_resamples=300)
        covered += ci["ci_low"] < 0 < ci["ci_high"]
    assert 88 <= covered <= 99


def test_paired_ci_excludes_zero_for_a_planted_edge():
    rng = np.random.default_rng(2)
    market = rng.normal(0.0, 0.04, 730)
    edge = market + 0.006  # the same book plus 0.6% a day: a huge, certain edge
    ci = paired_sharpe_diff_ci(edge, market, 365, seed=0)
    assert ci["ci_low"] > 0 and ci["p_le_0"] < 0.025
    # the unpaired (i.i.d.) intervals of the two Sharpes overlap: only the paired test separates them
    ci_rev = paired_sharpe_diff_ci(market, edge, 365, seed=0)
    assert ci_rev["ci_high"] < 0


def test_challenge_metrics_match_the_starter_kit_definitions():
    close = np.array([100.0, 110.0, 99.0, 99.0, 120.0])
    w = np.array([1.0, 0.5, 0.0, 1.0, 1.0])  # the last weight has no next day
    rewards = [1.0 * math.log(1.1), 0.5 * math.log(0.9), 0.0, math.log(120 / 99)]
    m = challenge_metrics(w, close)
    assert math.isclose(m["challenge_cumulative_return"], sum(rewards))
    sd = float(np.std(rewards, ddof=1))
    assert math.isclose(m["challenge_sharpe"], (sum(rewards) / (5 / 252)) / (sd * math.sqrt(365)))
    curve = np.cumprod([1.0] + [1 + r for r in rewards])
    assert math.isclose(m["challenge_max_drawdown"], float(np.max(1 - curve / np.maximum.accumulate(curve))))
