"""The evaluation suite: paired intervals and verdicts, storage, resume after a kill, reuse by
fingerprint, the HTML report, the CLI. Synthetic per-item values stand in for the model runs (the real
parts are exercised by the slow test at the end and by the commands in docs/evaluation.md)."""

from __future__ import annotations

import types

import numpy as np
import pytest

from fincortex.store import Store
from fincortex.suite import paired
from suite_support import store_run


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "suite.duckdb")


def test_paired_ci_on_identical_runs_contains_zero():
    rng = np.random.default_rng(0)
    a = {f"q{i}": float(v) for i, v in enumerate(rng.uniform(0, 1, 100))}
    r = paired.mean_diff(a, dict(a))
    assert r["ci_low"] <= 0 <= r["ci_high"] and paired.verdict(r, True) == "within noise"
    days = {f"d{i}": float(v) for i, v in enumerate(rng.normal(0, 0.02, 300))}
    s = paired.sharpe_diff(days, dict(days), 365)
    assert s["ci_low"] <= 0 <= s["ci_high"] and paired.verdict(s, True) == "within noise"


def test_paired_ci_of_noise_only_difference_contains_zero():
    rng = np.random.default_rng(1)
    a = {f"q{i}": float(v) for i, v in enumerate(rng.uniform(0, 1, 400))}
    b = {k: v + float(rng.normal(0, 0.05)) for k, v in a.items()}  # no planted effect, only noise
    assert paired.verdict(paired.mean_diff(a, b), True) == "within noise"


def test_planted_improvement_is_reported_better_and_a_loss_worse():
    a = {f"q{i}": 0.5 + 0.3 * np.sin(i) for i in range(200)}
    b = {k: v + 0.05 for k, v in a.items()}
    assert paired.verdict(paired.mean_diff(a, b), True) == "better"
    assert paired.verdict(paired.mean_diff(b, a), True) == "worse"
    assert paired.verdict(paired.mean_diff(a, b), False) == "worse"  # e.g. a Brier: higher is worse


def test_compare_runs_gives_verdicts_per_area(store):
    from fincortex.suite.compare import compare_runs

    store_run(store, "A")
    store_run(store, "A2")  # the same configuration again: identical values
    store_run(store, "B", lift=0.05, sharpen=0.3, edge=0.004)
    same = compare_runs(store, "A", "A2")
    assert set(same["areas"]) == {"retrieval", "forecasting", "trading", "lm"}
    assert all(v in ("within noise", "no interval") for v in same["areas"].values())
    for row in same["rows"]:
        if row.ci_low is not None:
            assert row.ci_low <= 0 <= row.ci_high, row
    better = compare_runs(store, "A", "B")
    assert better["areas"]["retrieval"] == "better"
    assert better["areas"]["forecasting"] == "better"  # sharper forecasts: lower Brier
    assert better["areas"]["trading"] == "better"
    worse = compare_runs(store, "B", "A")
    assert worse["areas"]["retrieval"] == "worse" and worse["areas"]["trading"] == "worse"


def test_html_report_has_plots_and_verdicts(store, tmp_path):
    from fincortex.suite.compare import compare_runs
    from fincortex.suite.report import write_html

    store_run(store, "A")
    store_run(store, "B", lift=0.05, sharpen=0.3, edge=0.004)
    out = write_html(compare_runs(store, "A", "B"), tmp_path / "report.html")
    text = out.read_text()
    assert text.count("plotly-graph-div") == 3  # nDCG/recall bars, reliability diagram, equity + drawdown
    assert "Verdict per area" in text and "better" in text
    assert "<script src=" not in text and "Plotly.newPlot" in text  # JavaScript inlined: opens offline
    assert "ties, seed 0; parents: smollm2 <code>pppppppppppp</code>" in text  # each model's lineage


def test_unknown_run_and_part_are_clear_errors(store, tmp_path):
    from fincortex.config import Settings
    from fincortex.suite import SuiteError, SuiteRunError
    from fincortex.suite.compare import compare_runs
    from fincortex.suite.service import build_config

    store_run(store, "A")
    with pytest.raises(SuiteRunError, match="no suite run 'nope'"):
        compare_runs(store, "A", "nope")
    with pytest.raises(SuiteError, match="unknown suite part"):
        build_config(store, Settings(home=tmp_path), parts=("retrieval", "bogus"))
    with pytest.raises(SuiteError, match="unknown profile"):
        build_config(store, Settings(home=tmp_path), profile_name="huge")


# -- resume and reuse, with a fake part so that the bookkeeping is what is tested -------------------------
def _fake_part(calls: list, fail_on: str | None = None):
    mod = types.ModuleType("fake_part")
    mod.VERSION = 1
    mod.units = lambda config: ["fake:one", "fake:two", "fake:three"]
    mod.depends = lambda unit: ("embedder",) if unit == "fake:two" else ()

    def run_unit(ctx, unit):
        from fincortex.suite.runs import UnitResult

        if unit == fail_on and not any(c == ("killed", unit) for c in calls):
            calls.append(("killed", unit))
            raise KeyboardInterrupt  # what a kill (Ctrl-C) raises mid-run
        calls.append(("ran", unit))
        return UnitResult({"unit": unit}, {"x": {"a": 1.0}})

    mod.run_unit = run_unit
    return mod


def _config(tmp_path, embedder_sha: str):
    from fincortex.suite.config import ModelChoice, SuiteConfig, profile

    return SuiteConfig(profile("quick"), ModelChoice("embedder", "e", "/e", embedder_sha),
                       ModelChoice("reranker", None, None, None), ModelChoice("chat", "local", "/c", "c1"), ("fake",))


@pytest.fixture
def fake(monkeypatch):
    import fincortex.suite.service as service

    calls: list = []
    holder = {}

    def install(fail_on=None):
        holder["mod"] = _fake_part(calls, fail_on)
        monkeypatch.setattr(service, "_module", lambda part: holder["mod"])
        return calls

    monkeypatch.setitem(service.PARTS, "fake", "fake_part")
    return install


def test_killed_suite_resumes_without_recomputing_finished_units(store, tmp_path, fake):
    from fincortex.config import Settings
    from fincortex.suite import runs
    from fincortex.suite.service import run_suite

    calls = fake(fail_on="fake:two")
    settings = Settings(home=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_suite(settings, store, _config(tmp_path, "e1"), run_id="R1")
    assert runs.get_run(store, "R1")["status"] == "failed"
    assert list(runs.get_run(store, "R1")["units"]) == ["fake:one"]  # the finished unit is kept
    run = run_suite(settings, store, _config(tmp_path, "e1"), run_id="R1")
    assert run["status"] == "ok" and set(run["units"]) == {"fake:one", "fake:two", "fake:three"}
    assert calls == [("ran", "fake:one"), ("killed", "fake:two"), ("ran", "fake:two"), ("ran", "fake:three")]


def test_a_changed_model_recomputes_only_what_depends_on_it(store, tmp_path, fake):
    from fincortex.config import Settings
    from fincortex.suite.service import run_suite

    calls = fake()
    settings = Settings(home=tmp_path)
    run_suite(settings, store, _config(tmp_path, "e1"), run_id="base")
    calls.clear()
    run = run_suite(settings, store, _config(tmp_path, "e2"), run_id="tuned")  # only the embedder changed
    assert calls == [("ran", "fake:two")]  # the unit that depends on the embedder
    assert run["units"]["fake:one"].reused_from == "base" and run["units"]["fake:three"].reused_from == "base"
    assert run["units"]["fake:two"].reused_from is None


def test_a_registered_embedder_resolves_to_its_folder_for_every_store(tmp_path):
    """The parts run in the suite's own stores, whose registries do not know the user's model names."""
    import shutil

    from fincortex.config import Settings
    from fincortex.models import registry
    from fincortex.models.merging.lineage import LineageCard, write_card
    from fincortex.retrieval.embedder import DEFAULT_MODEL, Embedder, resolve_model_path
    from fincortex.suite.service import build_config

    settings = Settings(home=tmp_path)
    user_store = Store(settings.db_path)
    folder = shutil.copytree(resolve_model_path(DEFAULT_MODEL), tmp_path / "models" / "my-fin")
    card = write_card(folder, LineageCard(name="my-fin", kind="embedder", method="finetune-contrastive", parents=[]))
    registry.register(user_store, card, str(folder))
    config = build_config(user_store, settings, quick=True, embedder="my-fin", reranker="none", parts=("retrieval",))
    assert config.embedder.asked == "my-fin" and config.embedder.spec == str(folder)
    assert config.embedder.registry["name"] == "my-fin"
    assert Embedder(config.embedder.spec).ref.path == folder  # loads with no registry at hand
    packaged = build_config(user_store, settings, quick=True, reranker="none", parts=("retrieval",)).embedder
    assert packaged.spec == DEFAULT_MODEL  # the alias: its cached vectors keep their key


def test_trading_depends_on_the_chat_model_only_with_an_llm_member(monkeypatch):
    import fincortex.agents.trading.members as members
    from fincortex.suite.parts import trading

    assert trading.depends("trading:btc2018") == ()  # the default ensemble has no LLM member
    monkeypatch.setattr(members, "DEFAULT_MEMBERS", (*members.DEFAULT_MEMBERS, "llm_view"))
    assert trading.depends("trading:btc2018") == ("chat",)


def test_cli_lists_and_compares(store, tmp_path):
    from typer.testing import CliRunner

    from fincortex.cli import app

    store_run(store, "A")
    store_run(store, "B", lift=0.05, sharpen=0.3, edge=0.004)
    runner = CliRunner()
    listed = runner.invoke(app, ["eval", "runs", "--db", str(store.path)])
    assert listed.exit_code == 0, listed.output
    assert "A" in listed.output and "B" in listed.output
    html = tmp_path / "cmp.html"
    res = runner.invoke(app, ["eval", "compare", "A", "B", "--db", str(store.path), "--html", str(html)])
    assert res.exit_code == 0, res.output
    assert "retrieval: better" in res.output and html.is_file()
    bad = runner.invoke(app, ["eval", "compare", "A", "missing", "--db", str(store.path)])
    assert bad.exit_code == 2 and "no suite run 'missing'" in bad.output


@pytest.mark.slow
def test_real_parts_on_a_tiny_profile(home, monkeypatch):
    """The retrieval and forecasting parts on the real dev data (a tiny profile): stored, then reused."""
    from fincortex.client import Client
    from fincortex.suite import config as suite_config
    from fincortex.suite.compare import compare_runs

    tiny = suite_config.Profile("tiny", 20, 2, 1, 50, 400, (), 4)
    monkeypatch.setitem(suite_config.PROFILES, "tiny", tiny)
    from fincortex.ui.testing import share_default_chat_model

    client = Client()
    share_default_chat_model(client.settings)  # the llm_direct unit: SmolLM2 converted once per checkout
    first = client.eval_suite(profile="tiny", reranker="none", parts=["retrieval", "forecasting"], label="a")
    unit = first["units"]["retrieval:tatqa-heldout"]
    assert unit.summary["queries"] == 20 and len(unit.items["ndcg@10:hybrid"]) == 20
    assert 0 < unit.summary["modes"]["bm25"]["ndcg@10"] <= 1
    stack = first["units"]["forecasting:stack"].summary["table"]
    assert {"default", "naive"} <= set(stack) and stack["default"]["n"] > 0
    second = client.eval_suite(profile="tiny", reranker="none", parts=["retrieval", "forecasting"], label="b")
    assert all(u.reused_from == first["run_id"] for u in second["units"].values())
    same = compare_runs(client.store, first["run_id"], second["run_id"])
    assert all(v in ("within noise", "no interval") for v in same["areas"].values())
