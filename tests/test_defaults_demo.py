"""The demo's background work: dashboard jobs started from a script (finishing search: dense index, fusion
weights, reranker), a reranker skipped when a default exists, an unknown kind or bad parameters refused."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _background(*args: str, env_home: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "FINCORTEX_HOME": str(env_home)}
    return subprocess.run([sys.executable, "-m", "fincortex.ui.background", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_unknown_kind_and_bad_params_are_refused(tmp_path):
    out = _background("no_such_job", env_home=tmp_path)
    assert out.returncode == 2 and "unknown job kind 'no_such_job'" in out.stderr and "tune_reranker" in out.stderr
    out = _background("tune_reranker", "--params", "{not json", env_home=tmp_path)
    assert out.returncode == 2 and "--params is not JSON" in out.stderr
    out = _background("tune_reranker", "--params", "[1]", env_home=tmp_path)
    assert out.returncode == 2 and "JSON object" in out.stderr
    assert not (tmp_path / "cache" / "ui-jobs").exists() or not any((tmp_path / "cache" / "ui-jobs").iterdir())


@dataclass
class _Row:
    name: str
    path: str
    is_default: bool


class _Client:
    """Just what the task reads: the registry's rerankers, and a tune_reranker that must not run."""

    def __init__(self, rows):
        self.rows, self.trained = rows, False

    def models(self, kind=None):
        assert kind == "reranker"
        return self.rows

    def tune_reranker(self, **kwargs):
        self.trained = True
        raise AssertionError("a default reranker exists: nothing should be trained")


def test_if_missing_skips_when_a_default_reranker_exists(tmp_path):
    from fincortex.ui.tasks import TASKS

    events = []
    client = _Client([_Row("old", str(tmp_path / "gone"), False), _Row("ce", str(tmp_path), True)])
    result = TASKS["tune_reranker"](client, {"if_missing": True}, lambda *a, **k: events.append(a))
    assert "default reranker ce exists" in result["skipped"] and not client.trained and events


def test_if_missing_trains_when_the_default_folder_is_gone(tmp_path):
    from fincortex.ui.tasks import TASKS

    class Result:
        def to_dict(self):
            return {"name": "new"}

    class Training(_Client):
        def tune_reranker(self, progress=None, **kwargs):
            self.trained = True
            return Result()

    client = Training([_Row("ce", str(tmp_path / "deleted"), True)])
    assert TASKS["tune_reranker"](client, {"if_missing": True}, lambda *a, **k: None) == {"name": "new"}
    assert client.trained


def test_finish_search_runs_dense_then_fusion_then_the_reranker_if_missing(tmp_path):
    """The order matters (fusion weights are per embedder; the reranker trains last, the longest step) and a
    finished step is not redone (the reranker step keeps an existing default)."""
    from fincortex.ui.tasks import TASKS

    calls = []

    class Finishing(_Client):
        def build_index(self, progress=None, **kwargs):
            calls.append("index")
            return {"sync": {"embedded": 3}}

        def calibrate_fusion(self, progress=None, **kwargs):
            calls.append("fusion")
            return {"weights": {"dense": 0.25, "bm25": 1.0}, "source": "test", "skipped": None}

    client = Finishing([_Row("ce", str(tmp_path), True)])
    events = []
    result = TASKS["finish_search"](client, {}, lambda *a, **k: events.append(a))
    assert calls == ["index", "fusion"] and not client.trained
    assert result["index"] == {"embedded": 3} and result["fusion"]["weights"] == {"dense": 0.25, "bm25": 1.0}
    assert "default reranker ce exists" in result["reranker"]["skipped"]
    assert [e[:2] for e in events if len(e) >= 2 and e[1] == 3] == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_demo_opens_the_dashboard_on_bm25_and_finishes_search_in_the_background():
    demo = (REPO / "scripts" / "demo.sh").read_text()
    before, rest = demo.split('if [ -z "${FINCORTEX_DEMO_NO_UI:-}" ]; then', 1)
    ui_branch = rest.split("fi\n", 1)
    assert "fincortex index build --only bm25" in before and "fincortex search" in before
    assert "fincortex.ui.background finish_search" in ui_branch[0] and "exec fincortex ui" in ui_branch[0]
    foreground = ui_branch[1]  # FINCORTEX_DEMO_NO_UI=1: the same steps in the foreground
    assert foreground.index("fincortex index build") < foreground.index("fincortex index calibrate") \
        < foreground.index("fincortex tune reranker --if-missing")
