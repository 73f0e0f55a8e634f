"""Merge arithmetic, checked exactly against independent formulas on tiny random models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from models_support import settings  # noqa: F401

from fincortex.models import registry
from fincortex.models.merging.lineage import model_digest, read_card
from fincortex.models.merging.merge import RecipeError, merge_from_recipe, validate_recipe
from fincortex.models.llm.tiny import build_tiny_causal_lm
from fincortex.store import Store

NORM = "model.norm.weight"  # a 1-D tensor we hand-craft for the sign-election / trimming checks


@pytest.fixture(scope="module")
def trio(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("merge")
    paths = {n: build_tiny_causal_lm(root / n, seed=i) for i, n in enumerate(["base", "a", "b"])}
    # hand-crafted deltas on the final norm: base 0; A and B disagree in sign on index 0
    hidden = load_file(paths["base"] / "model.safetensors")[NORM].numel()
    a = torch.zeros(hidden)
    a[:10] = torch.tensor([3.0, -2.0, 0.5, 1.0, 0.1, 0.2, -0.3, 4.0, 0.05, -0.05])
    b = torch.zeros(hidden)
    b[:8] = torch.tensor([-1.0, -4.0, 0.5, -2.0, 0.0, 0.0, 0.0, 0.0])
    for name, vec in (("base", torch.zeros(hidden)), ("a", a), ("b", b)):
        f = paths[name] / "model.safetensors"
        sd = load_file(f)
        sd[NORM] = vec
        save_file(sd, f, metadata={"format": "pt"})
    return paths


def _recipe(tmp_path: Path, body: dict) -> Path:
    f = tmp_path / f"{body.get('name', 'merged')}.yaml"
    f.write_text(yaml.safe_dump(body))
    return f


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(path / "model.safetensors")


def _run(tmp_path, settings, body) -> dict[str, torch.Tensor]:
    res = merge_from_recipe(_recipe(tmp_path, body), settings, quiet=True)
    return _weights(res.path)


def _magnitude_trim(delta: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the top `density` fraction of entries by |value| (TIES step 1)."""
    if density >= 1:
        return delta
    k = max(1, int(density * delta.numel()))
    flat = delta.flatten()
    keep = torch.zeros_like(flat)
    keep[flat.abs().float().argsort(descending=True)[:k]] = 1
    return (flat * keep).reshape(delta.shape)


def _ties_reference(base, deltas, weights, density, normalize=True):
    trimmed = torch.stack([w * _magnitude_trim(d, density) for d, w in zip(deltas, weights)])
    elected = torch.where(trimmed.sum(0) >= 0, 1.0, -1.0)  # sign election by total mass
    agree = (trimmed.sign() == elected).to(trimmed.dtype)  # zeros never agree
    mixed = (trimmed * agree).sum(0)
    if normalize:
        w = torch.tensor(weights).reshape(-1, *([1] * base.dim()))
        div = (w * agree).sum(0)
        mixed = mixed / torch.where(div == 0, torch.ones_like(div), div)
    return base + mixed


def test_linear_is_the_normalised_weighted_mean(tmp_path, settings, trio):
    out = _run(tmp_path, settings, {"name": "lin", "merge_method": "linear", "dtype": "float32", "models": [
        {"model": str(trio["a"]), "parameters": {"weight": 0.3}},
        {"model": str(trio["b"]), "parameters": {"weight": 0.9}}]})
    a, b = _weights(trio["a"]), _weights(trio["b"])
    for k in a:
        torch.testing.assert_close(out[k], (0.3 * a[k] + 0.9 * b[k]) / 1.2, rtol=0, atol=1e-6)


def test_task_arithmetic_adds_scaled_task_vectors(tmp_path, settings, trio):
    out = _run(tmp_path, settings, {"name": "ta", "merge_method": "task_arithmetic", "dtype": "float32",
                                    "base_model": str(trio["base"]), "models": [
        {"model": str(trio["a"]), "parameters": {"weight": 0.5}},
        {"model": str(trio["b"]), "parameters": {"weight": -0.25}}]})
    base, a, b = _weights(trio["base"]), _weights(trio["a"]), _weights(trio["b"])
    for k in base:
        torch.testing.assert_close(out[k], base[k] + 0.5 * (a[k] - base[k]) - 0.25 * (b[k] - base[k]),
                                   rtol=0, atol=1e-6)


def test_ties_trims_elects_signs_and_averages_agreeing_entries(tmp_path, settings, trio):
    out = _run(tmp_path, settings, {"name": "ties", "merge_method": "ties", "dtype": "float32",
                                    "base_model": str(trio["base"]), "models": [
        {"model": str(trio["a"]), "parameters": {"weight": 1.0, "density": 0.25}},
        {"model": str(trio["b"]), "parameters": {"weight": 1.0, "density": 0.25}}]})
    base, a, b = _weights(trio["base"]), _weights(trio["a"]), _weights(trio["b"])
    for k in base:
        ref = _ties_reference(base[k], [a[k] - base[k], b[k] - base[k]], [1.0, 1.0], 0.25)
        torch.testing.assert_close(out[k], ref, rtol=0, atol=1e-6)
    # by hand on the crafted vector (hidden=32, density .25 -> each keeps its top 8 entries by |delta|):
    norm = out[NORM]
    assert norm[0] == pytest.approx(3.0)    # +3 vs -1: mass +2 elects +, -1 is dropped, mean of {3}
    assert norm[1] == pytest.approx(-3.0)   # -2 and -4 agree: mean -3
    assert norm[2] == pytest.approx(0.5)    # 0.5 and 0.5 agree
    assert norm[3] == pytest.approx(-2.0)   # +1 vs -2: mass -1 elects -, +1 is dropped
    assert norm[4] == pytest.approx(0.1)    # only A moved it: B's zero does not dilute the mean
    assert norm[7] == pytest.approx(4.0)
    assert torch.count_nonzero(norm[8:]) == 0  # A's 0.05 / -0.05 were trimmed (9th/10th largest)


def test_dare_drops_at_random_and_rescales_to_keep_the_l1_norm(tmp_path, settings, trio):
    body = {"merge_method": "dare_linear", "dtype": "float32", "base_model": str(trio["base"]), "seed": 11,
            "models": [{"model": str(trio["a"]), "parameters": {"weight": 0.8, "density": 0.4}}]}
    out = _run(tmp_path, settings, {**body, "name": "dare1"})
    same = _run(tmp_path, settings, {**body, "name": "dare2"})
    other = _run(tmp_path, settings, {**body, "name": "dare3", "seed": 12})
    base, a = _weights(trio["base"]), _weights(trio["a"])
    key = "model.layers.0.mlp.up_proj.weight"
    delta, got = a[key] - base[key], out[key] - base[key]
    kept = got != 0
    frac = kept.float().mean().item()
    assert 0.3 < frac < 0.5, frac  # Bernoulli(0.4) over 2048 entries
    scale = delta.abs().sum() / delta[kept].abs().sum()  # mergekit rescales to the original L1 norm
    torch.testing.assert_close(got[kept], 0.8 * scale * delta[kept], rtol=1e-5, atol=1e-6)
    for k in out:
        torch.testing.assert_close(out[k], same[k], rtol=0, atol=0)  # same seed: identical
    assert not torch.equal(out[key], other[key])  # another seed: another mask


def test_model_stock_pulls_the_mean_toward_the_base_by_the_delta_angle(tmp_path, settings, trio):
    out = _run(tmp_path, settings, {"name": "stock", "merge_method": "model_stock", "dtype": "float32",
                                    "base_model": str(trio["base"]),
                                    "models": [{"model": str(trio["a"])}, {"model": str(trio["b"])}]})
    base, a, b = _weights(trio["base"]), _weights(trio["a"]), _weights(trio["b"])
    for k in base:  # Jang et al. 2024, eq. 2 with k = 2 fine-tuned models, one angle per tensor
        da, db = (a[k] - base[k]).flatten().double(), (b[k] - base[k]).flatten().double()
        cos = float(da @ db / max(float(da.norm() * db.norm()), 1e-6))
        t = 2 * cos / (1 + cos)
        ref = t * (a[k] + b[k]) / 2 + (1 - t) * base[k]
        torch.testing.assert_close(out[k], ref.float(), rtol=0, atol=1e-5)
    # the crafted norm: deltas (3,-2,.5,1,...) and (-1,-4,.5,-2,...) are at an angle below 90 degrees, so t is in (0, 1)
    da, db = a[NORM] - base[NORM], b[NORM] - base[NORM]
    cos = float(da @ db / (da.norm() * db.norm()))
    assert 0 < cos < 1 and torch.allclose(out[NORM], (2 * cos / (1 + cos)) * (a[NORM] + b[NORM]) / 2, atol=1e-5)


def test_lineage_card_and_registry_row(tmp_path, settings, trio):
    res = merge_from_recipe(_recipe(tmp_path, {
        "name": "lineage-check", "merge_method": "ties", "base_model": str(trio["base"]), "seed": 3,
        "models": [{"model": str(trio["a"]), "parameters": {"weight": 0.5, "density": 0.5}}]}), settings, quiet=True)
    card = read_card(res.path)
    assert card.method == "merge:ties" and card.seed == 3 and card.sha256 == model_digest(res.path)
    roles = {p.role: p for p in card.parents}
    assert roles["base"].sha256 == model_digest(trio["base"]) and roles["donor"].sha256 == model_digest(trio["a"])
    assert (res.path / "LINEAGE.md").read_text().startswith("# lineage-check")
    rec = registry.get(Store(settings.db_path), "chat", "lineage-check")
    assert rec.path == str(res.path) and rec.sha256 == card.sha256 and rec.parents[0]["sha256"]
    assert (res.path / "tokenizer.json").is_file()  # usable as a chat model right away


@pytest.mark.parametrize("text,match", [
    ("merge_method: ties\nmodels: [\n", "not valid YAML"),
    ("- just\n- a list\n", "must be a YAML mapping"),
    ("models: []\n", "merge_method` is required"),
    ("merge_method: frobnicate\nmodels: [{model: x}]\n", "unknown merge_method 'frobnicate'"),
    ("merge_method: ties\nmodels: [{model: A, parameters: {weight: 1}}]\n", "needs `base_model`"),
    ("merge_method: dare_ties\nbase_model: B\nmodels: [{model: A, parameters: {weight: 1, density: 0.5}}]\n",
     "give a `seed:`"),
    ("merge_method: ties\nbase_model: B\nmodels: [{model: A, parameters: {weight: 1, density: 1.5}}]\n",
     "density must be in"),
    ("merge_method: model_stock\nbase_model: B\nmodels: [{model: A}]\n", "needs at least 2 models"),
    ("merge_method: linear\nmodels: [{model: /no/such/model, parameters: {weight: 1}}]\n", "not found"),
])
def test_bad_recipes_fail_before_any_tensor_is_loaded(tmp_path, settings, trio, text, match):
    text = text.replace("A", str(trio["a"])).replace("B", str(trio["base"]))
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(RecipeError, match=match):
        validate_recipe(f, settings)


def test_mismatched_architectures_shapes_and_vocabularies(tmp_path, settings, trio):
    qwen = build_tiny_causal_lm(tmp_path / "qwen", seed=5, architecture="qwen2")
    wide = build_tiny_causal_lm(tmp_path / "wide", seed=5, hidden_size=64)
    swapped = build_tiny_causal_lm(tmp_path / "swapped", seed=5)
    tj = json.loads((swapped / "tokenizer.json").read_text())
    vocab = tj["model"]["vocab"]
    t1, t2 = list(vocab)[100], list(vocab)[101]
    vocab[t1], vocab[t2] = vocab[t2], vocab[t1]
    (swapped / "tokenizer.json").write_text(json.dumps(tj))
    for other, match in ((qwen, "mismatched architectures"), (wide, "mismatched hidden_size"),
                         (swapped, "mismatched vocabularies")):
        f = _recipe(tmp_path, {"merge_method": "task_arithmetic", "base_model": str(trio["base"]),
                               "models": [{"model": str(other), "parameters": {"weight": 1.0}}]})
        with pytest.raises(RecipeError, match=match):
            validate_recipe(f, settings)
