"""Models: the registry with lineage cards, merge and continual-pretraining runs, evaluation tables."""

from __future__ import annotations

import json
import re
from typing import Any

import streamlit as st
import yaml

from fincortex.ui import common, job_view
from fincortex.ui.jobs import JobStatus

EXAMPLE_RECIPE = """\
# mergekit recipe; models are folders, registered names or `local` (the default chat model)
name: my-merge
merge_method: linear
dtype: float32
models:
  - model: local
    parameters: {weight: 0.5}
  - model: local
    parameters: {weight: 0.5}
"""

st.title("Models")


def _models() -> list[dict[str, Any]]:
    try:
        return common.records(common.client().models())
    except Exception as exc:  # noqa: BLE001
        common.show_error("Reading the model registry", exc)
        return []


def _card(m: dict[str, Any]) -> None:
    """The lineage card of a registered model: what it is made of, how, from which data, how it scores."""
    st.markdown(f"#### {m['name']} ({m['kind']})" + (" · default" if m.get("is_default") else ""))
    st.caption(f"method `{m.get('method')}` · seed {m.get('seed')} · sha256 `{str(m.get('sha256'))[:16]}…` · "
               f"created {str(m.get('created_at'))[:19]} · fincortex {m.get('fincortex_version')}")
    st.caption(f"weights: `{m.get('path')}`")
    parents = m.get("parents") or []
    st.markdown("**Parents**")
    if parents:
        st.dataframe([{**p, "sha256": str(p.get("sha256"))[:16]} for p in parents], hide_index=True, width="stretch")
    else:
        st.caption("none (an adopted or converted model)")
    for title, key in (("Parameters", "params"), ("Hyper-parameters", "hyperparams"),
                       ("Training data", "data_summary"), ("Evaluation", "metrics")):
        value = m.get(key) or {}
        with st.expander(f"{title} ({len(value)} entries)", expanded=key == "metrics" and bool(value)):
            if value:
                st.json(value, expanded=2)
            else:
                st.caption("none recorded")
    lm_eval = (m.get("metrics") or {}).get("lm_eval")
    if isinstance(lm_eval, dict):
        st.dataframe([{k: v for k, v in lm_eval.items() if not isinstance(v, (dict, list))}], hide_index=True,
                     width="stretch")


def _registry(models: list[dict[str, Any]]) -> None:
    if not models:
        st.info("No models registered yet. Merge or tune one here, or convert the default chat model with "
                "`fincortex models` (see docs/models.md).")
        return
    table = [{"kind": m["kind"], "name": m["name"], "default": m.get("is_default"), "method": m.get("method"),
              "parents": len(m.get("parents") or []), "evaluated": bool(m.get("metrics")),
              "created_at": str(m.get("created_at"))[:19]} for m in models]
    st.dataframe(table, hide_index=True, width="stretch")
    labels = {i: f"{m['kind']} · {m['name']}" for i, m in enumerate(models)}
    pick = st.selectbox("Lineage card", list(labels), format_func=labels.get, key="model_pick")
    chosen = models[pick]
    _card(chosen)
    if not chosen.get("is_default") and common.has("set_default_model"):
        if st.button(f"Make {chosen['name']} the default {chosen['kind']} model", key="model_default"):
            try:
                common.client().set_default_model(chosen["name"], chosen["kind"])
                st.rerun()
            except Exception as exc:  # noqa: BLE001
                common.show_error("Setting the default model", exc)


def _merge_tab() -> None:
    if not common.require("merge"):
        return
    with st.form("merge_form"):
        text = st.text_area("Recipe (YAML, mergekit format)", value=EXAMPLE_RECIPE, height=260, key="merge_yaml")
        overwrite = st.checkbox("Overwrite an existing output folder", key="merge_overwrite")
        go = st.form_submit_button("Merge", type="primary")
    if not go:
        return
    try:
        recipe = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        st.error(f"The recipe is not valid YAML: {exc}")
        return
    if not isinstance(recipe, dict) or not recipe.get("merge_method") or not recipe.get("models"):
        st.error("The recipe needs at least `merge_method` and a `models` list.")
        return
    name = str(recipe.get("name") or "merge")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,80}", name):
        st.error(f"Model name {name!r} may only use letters, digits, '.', '_' and '-'.")
        return
    folder = common.base_settings().home / "recipes"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    job_view.start("merge", {"recipe": str(path), "overwrite": bool(overwrite)}, label=f"Merge {name}")


def _tune_tab(models: list[dict[str, Any]]) -> None:
    if not common.require("tune_cpt"):
        return
    chat = ["local"] + [m["name"] for m in models if m["kind"] == "chat"]
    with st.form("cpt_form"):
        c1, c2, c3 = st.columns(3)
        base = c1.selectbox("Base chat model", chat, key="cpt_base")
        name = c2.text_input("Output name (default <base>-cpt)", key="cpt_name").strip()
        sources = c3.text_input("Document sources (comma separated; empty = all)", key="cpt_sources")
        c4, c5, c6, c7 = st.columns(4)
        steps = c4.number_input("Max steps", min_value=1, max_value=100_000, value=50, key="cpt_steps")
        seq_len = c5.number_input("Sequence length", min_value=16, max_value=4096, value=256, key="cpt_seq")
        lr = c6.number_input("Learning rate", min_value=1e-7, max_value=0.5, value=5e-5, format="%.1e", key="cpt_lr")
        lora = c7.checkbox("LoRA", value=True, key="cpt_lora")
        go = st.form_submit_button("Start continual pretraining", type="primary")
    if go:
        if name and not re.fullmatch(r"[A-Za-z0-9._-]{1,80}", name):
            st.error(f"Model name {name!r} may only use letters, digits, '.', '_' and '-'.")
            return
        params = {"base": base, "name": name or None, "sources": [s.strip() for s in sources.split(",") if s.strip()],
                  "max_steps": int(steps), "seq_len": int(seq_len), "learning_rate": float(lr), "lora": bool(lora)}
        job_view.start("tune_cpt", params, label=f"Continual pretraining of {base}")


def _eval_tab(models: list[dict[str, Any]]) -> None:
    if not common.require("evaluate_lm"):
        return
    chat = [m["name"] for m in models if m["kind"] == "chat"]
    if not chat:
        st.info("Register a chat model first (merge or tune one).")
        return
    with st.form("eval_form"):
        picked = st.multiselect("Models to evaluate", chat, key="eval_models")
        c1, c2 = st.columns(2)
        reference = c1.selectbox("Reference", ["local"] + chat, key="eval_reference")
        n_chunks = c2.number_input("Held-out chunks", min_value=4, max_value=1024, value=32, key="eval_chunks")
        go = st.form_submit_button("Evaluate", type="primary")
    if go:
        if not picked:
            st.error("Pick at least one model to evaluate.")
        else:
            job_view.start("evaluate_lm", {"models": picked, "reference": reference, "n_chunks": int(n_chunks)},
                           label=f"Evaluate {', '.join(picked)}")


def _summary(job: JobStatus) -> None:
    summary = (job.result or {}).get("summary") or {}
    st.dataframe([{"field": k, "value": json.dumps(v) if isinstance(v, (dict, list)) else str(v)}
                  for k, v in summary.items()], hide_index=True, width="stretch")


def _eval_rows(job: JobStatus) -> None:
    rows = (job.result or {}).get("rows") or []
    st.dataframe(rows, hide_index=True, width="stretch")


if common.require("models") and common.db_ready():
    registered = _models()
    tab_reg, tab_merge, tab_tune, tab_eval = st.tabs(["Registry", "Merge", "Continual pretraining", "Evaluate"])
    with tab_reg:
        _registry(registered)
    with tab_merge:
        _merge_tab()
        job_view.panel("merge", _summary)
    with tab_tune:
        _tune_tab(registered)
        job_view.panel("tune_cpt", _summary)
    with tab_eval:
        _eval_tab(registered)
        job_view.panel("evaluate_lm", _eval_rows)
