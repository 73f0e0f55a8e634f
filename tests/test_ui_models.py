"""Models page (AppTest): a real merge of two tiny models runs as a job and appears in the registry
with its lineage card; bad recipes are explained."""

from __future__ import annotations

import pytest

from fincortex.client import Client
from fincortex.ui.testing import app_test, button, default_mirror, open_page, texts, ui_env, wait_for_job


@pytest.fixture()
def env(tmp_path, monkeypatch):
    for name, value in ui_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    Client().import_prices(default_mirror() / "prices/btcusd_daily_2011_2022.csv", "BTC-USD")  # a database
    return tmp_path


@pytest.fixture()
def tiny_pair(tmp_path):
    from fincortex.models.llm.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path / "tiny-a", seed=0), build_tiny_causal_lm(tmp_path / "tiny-b", seed=1)


def _recipe(a, b, name="tiny-merge") -> str:
    return (f"name: {name}\nmerge_method: linear\ndtype: float32\nmodels:\n"
            f"  - model: {a}\n    parameters: {{weight: 0.5}}\n"
            f"  - model: {b}\n    parameters: {{weight: 0.5}}\n")


def test_merge_job_registers_a_model_with_its_lineage(env, tiny_pair):
    at = open_page(app_test(timeout_s=120), "models")
    assert not at.exception, at.exception
    assert any("No models registered yet" in i for i in texts(at, "info"))
    at.text_area(key="merge_yaml").set_value(_recipe(*tiny_pair))
    button(at, "Merge").click()
    at.run()
    job = wait_for_job(at, "merge", timeout_s=300)
    assert job.state == "done", (job.error, job.log_tail)
    assert job.result["summary"]["method"] == "merge:linear"
    assert not at.exception
    registry = [d.value for d in at.dataframe if "parents" in d.value.columns and "method" in d.value.columns][0]
    assert list(registry["name"]) == ["tiny-merge"]
    assert list(registry["parents"]) == [2]
    # the lineage card: both parents with their digests, the recipe parameters
    parents = [d.value for d in at.dataframe if "role" in d.value.columns][0]
    assert sorted(parents["path"]) == sorted(str(p) for p in tiny_pair)
    assert all(len(s) == 16 for s in parents["sha256"])
    assert any("method `merge:linear`" in c for c in texts(at, "caption"))
    record = Client().model("tiny-merge")
    assert record.method == "merge:linear" and len(record.parents) == 2


def test_bad_recipes_are_explained(env, tiny_pair):
    at = open_page(app_test(timeout_s=120), "models")
    at.text_area(key="merge_yaml").set_value("name: [unclosed\nmerge_method: linear")
    button(at, "Merge").click()
    at.run()
    assert any("not valid YAML" in e for e in texts(at, "error"))
    at.text_area(key="merge_yaml").set_value("name: x\nmodels: []\n")
    button(at, "Merge").click()
    at.run()
    assert any("needs at least `merge_method`" in e for e in texts(at, "error"))
    assert "job_merge" not in at.session_state
    # the SDK's own validation: a model folder that does not exist, named in the failed job's message
    missing = env / "no-such-model"
    at.text_area(key="merge_yaml").set_value(_recipe(tiny_pair[0], missing, name="broken"))
    button(at, "Merge").click()
    at.run()
    job = wait_for_job(at, "merge", timeout_s=300)
    assert job.state == "failed"
    assert "no-such-model" in job.error
    assert any("failed" in e and "no-such-model" in e for e in texts(at, "error"))
    assert not at.exception


def test_tune_and_evaluate_forms_validate(env, tiny_pair):
    recipe = env / "r.yaml"  # one model registered through the SDK, for the evaluation picker
    recipe.write_text(_recipe(*tiny_pair, name="tiny-eval"))
    Client().merge(str(recipe), quiet=True)
    at = open_page(app_test(timeout_s=120), "models")
    at.text_input(key="cpt_name").set_value("bad name!")
    button(at, "Start continual pretraining").click()
    at.run()
    assert any("may only use letters" in e for e in texts(at, "error"))
    assert "job_tune_cpt" not in at.session_state
    assert "tiny-eval" in at.multiselect(key="eval_models").options
    button(at, "Evaluate").click()
    at.run()
    assert any("Pick at least one model" in e for e in texts(at, "error"))
    assert "job_evaluate_lm" not in at.session_state
    assert not at.exception
