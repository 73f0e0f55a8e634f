"""The default forecaster, walk-forward: for a round due on D,

1. history.HistoryView.load(store, D): outcomes public before D, question sets due before D;
2. every member forecasts every target of the round (stored in fb_member_forecasts, so a member's
   forecasts of a round are computed once and reused by later rounds' stacking and by ablations);
3. per source family, stacking.fit on member forecasts of earlier rounds joined with outcomes public
   before D (the query says so and the fit is stored with its training keys in fb_stack_fits);
4. the stack's probability for each target.

`forecast_round` does one round (earlier history rounds without stored member forecasts are
forecast first, each as of its own due date).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from fincortex.agents.forecasting import stacking
from fincortex.agents.forecasting.forecastbench import MARKET_SOURCES
from fincortex.agents.forecasting.history import HistoryView
from fincortex.agents.forecasting.members import build, parse_members
from fincortex.agents.forecasting.members.base import Member, horizon_bucket
from fincortex.agents.forecasting.rounds import Key, Round, horizon_days, target_key
from fincortex.store import Store


@dataclass
class RoundForecast:
    forecast_date: datetime
    probabilities: dict[Key, float]
    members: dict[str, dict[Key, float | None]]
    fits: dict[str, stacking.StackFit]
    member_seconds: dict[str, float] = field(default_factory=dict)
    stack_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def weights(self) -> dict[str, Any]:
        return {f: fit.weights() for f, fit in self.fits.items()}


def _day(d: datetime):
    return d.date()


def stored_member_forecasts(store: Store, due: datetime, member: str, member_key: str) -> dict[Key, float | None] | None:
    with store.read() as conn:
        rows = conn.execute("SELECT id, source, resolution_date, direction, probability FROM fb_member_forecasts "
                            "WHERE round_due = ? AND member = ? AND member_key = ?", [_day(due), member, member_key]).fetchall()
    return {(r[0], r[1], r[2], r[3]): r[4] for r in rows} if rows else None


def _complete(store: Store, member: Member, rnd: Round) -> bool:
    cached = stored_member_forecasts(store, rnd.forecast_date, member.name, member.key())
    return cached is not None and all(target_key(t) in cached for t in rnd.targets)


def run_member(store: Store, member: Member, rnd: Round, view: HistoryView) -> dict[Key, float | None]:
    cached = stored_member_forecasts(store, rnd.forecast_date, member.name, member.key())
    if cached is not None and all(target_key(t) in cached for t in rnd.targets):
        return cached  # made earlier as of the same due date, by the same member settings
    member.prepare(view, rnd.targets)
    probs = member.forecast_many(rnd.targets, rnd.forecast_date)
    out = {target_key(t): p for t, p in zip(rnd.targets, probs)}
    with store.write() as conn:
        conn.execute("DELETE FROM fb_member_forecasts WHERE round_due = ? AND member = ? AND member_key = ?",
                     [_day(rnd.forecast_date), member.name, member.key()])
        frame = pd.DataFrame([[_day(rnd.forecast_date), member.name, member.key(), k[0], k[1], k[2], k[3], p]
                              for k, p in out.items()],
                             columns=["d", "m", "mk", "id", "source", "rd", "dir", "p"]).astype({"p": float})
        conn.register("member_rows", frame)  # one bulk insert (executemany is row by row in DuckDB)
        conn.execute("INSERT INTO fb_member_forecasts SELECT d, m, mk, id, source, rd, dir, p, now() FROM member_rows")
        conn.unregister("member_rows")
    return out


_TRAIN_SQL = """
SELECT f.round_due, f.source, f.id, f.resolution_date, f.direction, f.member, f.probability, o.resolved_to,
       o.available_at
FROM fb_member_forecasts f JOIN fb_outcomes o
  ON o.round_due = f.round_due AND o.source = f.source AND o.id = f.id AND o.direction = f.direction
 AND (f.resolution_date = '' OR CAST(o.resolution_date AS VARCHAR) = f.resolution_date)
WHERE o.available_at < ? AND f.round_due < CAST(? AS DATE) AND f.member_key IN ({keys})
  AND (o.resolved OR o.source IN ({markets}))
"""


def training_rows(store: Store, as_of: datetime, member_keys: dict[str, str]):
    """{family: [(key5, {member: p}, y)]} of earlier rounds' member forecasts with outcomes public before as_of."""
    keys = ", ".join("?" * len(member_keys))
    markets = ", ".join(f"'{s}'" for s in MARKET_SOURCES)
    with store.read() as conn:
        rows = conn.execute(_TRAIN_SQL.format(keys=keys, markets=markets),
                            [as_of, as_of, *member_keys.values()]).fetchall()
    by_target: dict[tuple, dict[str, Any]] = {}
    for due, source, qid, rdate, direction, member, p, y, available in rows:
        if available >= as_of:  # the query forbids it; keep it provable
            raise RuntimeError(f"training outcome public {available}, not before {as_of}")
        entry = by_target.setdefault((str(due), qid, source, rdate, direction), {"probs": {}, "y": y, "at": available})
        entry["probs"][member] = p
    out: dict[str, list] = defaultdict(list)
    for k, e in by_target.items():
        if k[2] in MARKET_SOURCES or e["y"] in (0.0, 1.0):
            out[stacking.family(k[2])].append((k, e["probs"], float(e["y"]), e["at"]))
    return out


def fit_stacks(store: Store, as_of: datetime, names: tuple[str, ...], member_keys: dict[str, str],
               families: set[str]) -> dict[str, stacking.StackFit]:
    rows = training_rows(store, as_of, member_keys)
    fits = {}
    for fam in sorted(families):
        mine = sorted(rows.get(fam, []), key=lambda r: (r[3], r[0]))  # oldest outcome first
        fit = stacking.fit(fam, stacking.family_members(fam, names), [(r[1], r[2]) for r in mine])
        fits[fam] = fit
        with store.write() as conn:
            conn.execute("INSERT INTO fb_stack_fits VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
                         [uuid.uuid4().hex[:16], as_of, fam, fit.kind, fit.n_train,
                          max((r[3] for r in mine), default=None), json.dumps(fit.weights()),
                          json.dumps([list(r[0]) for r in mine])])
    return fits


def forecast_round(store: Store, rnd: Round, members: tuple[str, ...] | str | None = None,
                   ctx: dict[str, Any] | None = None, built: dict[str, Member] | None = None,
                   backfill: bool = True) -> RoundForecast:
    """The default forecaster's probabilities for every target of `rnd`, as of its due date. backfill:
    first forecast earlier history rounds lacking member forecasts (a walk-forward that forecasts the
    rounds in order itself passes False)."""
    names = parse_members(members)
    built = built or {n: build(n, ctx) for n in names}
    view = HistoryView.load(store, rnd.forecast_date)
    for earlier in view.rounds() if backfill else []:  # stacking needs member forecasts of earlier rounds
        missing = [n for n in names if not _complete(store, built[n], earlier)]
        if missing:
            earlier_view = HistoryView.load(store, earlier.forecast_date)
            for n in missing:
                run_member(store, built[n], earlier, earlier_view)
    member_probs, seconds = {}, {}
    for n in names:
        started = time.perf_counter()
        member_probs[n] = run_member(store, built[n], rnd, view)
        seconds[n] = time.perf_counter() - started
    started = time.perf_counter()
    keys = {n: built[n].key() for n in names}
    fits = fit_stacks(store, rnd.forecast_date, names, keys, {stacking.family(t.source) for t in rnd.targets})
    probs = {}
    for t in rnd.targets:
        k = target_key(t)
        probs[k] = fits[stacking.family(t.source)].predict({n: member_probs[n].get(k) for n in names})
    notes = [n for n in (getattr(built[m], "evidence_note", None) for m in names) if n]
    return RoundForecast(rnd.forecast_date, probs, member_probs, fits, seconds, time.perf_counter() - started, notes)


def naive_forecast(rnd: Round, view: HistoryView) -> dict[Key, float]:
    """ForecastBench's naive forecaster: the freeze-time market value for market questions; for dataset
    questions the base rate by (source, horizon) of outcomes public before the due date (falling back to
    the source's rate, then 0.5)."""
    from fincortex.agents.forecasting.members.base import labelled

    h = labelled(view)
    h = h[~h["market"]]
    by_sh = h.groupby(["source", "hbucket"])["resolved_to"].mean().to_dict()
    by_s = h.groupby("source")["resolved_to"].mean().to_dict()
    out = {}
    for t in rnd.targets:
        if t.source in MARKET_SOURCES:
            out[target_key(t)] = t.market_value if t.market_value is not None else 0.5
        else:
            hb = horizon_bucket(horizon_days(t))
            out[target_key(t)] = float(by_sh.get((t.source, hb), by_s.get(t.source, 0.5)))
    return out
