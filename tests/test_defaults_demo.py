"""The demo's background reranker training: a dashboard job started from a script, skipped when a default
reranker exists, refused clearly for an unknown kind or bad parameters."""

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


def test_demo_trains_in_the_background_only_with_the_dashboard():
    demo = (REPO / "scripts" / "demo.sh").read_text()
    ui_branch = demo.split('if [ -z "${FINCORTEX_DEMO_NO_UI:-}" ]; then', 1)[1].split("fi\n", 1)
    assert "fincortex.ui.background tune_reranker" in ui_branch[0] and "exec fincortex ui" in ui_branch[0]
    assert "fincortex tune reranker --if-missing" in ui_branch[1]  # FINCORTEX_DEMO_NO_UI=1: in the foreground
    assert demo.index("fincortex index calibrate") > demo.index("fincortex index build")
