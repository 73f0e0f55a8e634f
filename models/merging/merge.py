"""`fincortex merge RECIPE.yaml`: mergekit-style model merging with validation and lineage.

The arithmetic is mergekit's (it installs cleanly beside our torch/transformers pins, so we use
the maintained implementation rather than re-deriving TIES/DARE). fincortex adds what mergekit
leaves to the caller:
- model references resolved the fincortex way: a folder, `local` (the default chat model), a
  registered model name, or a hub id (only when a hub is reachable);
- validation BEFORE any tensor is loaded: malformed YAML, unknown method, missing parameters,
  missing model paths, mismatched architectures / shapes / vocabularies -> one clear error;
- a fixed seed for the random methods (DARE), a lineage card beside the output and a row in the
  `models` table.

Recipe keys: mergekit's (merge_method, base_model, models[].model/parameters, parameters, dtype,
out_dtype, tokenizer_source, chat_template, slices) plus fincortex's `name` (output model name),
`kind` (registry kind, default chat) and `seed`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fincortex.config import Settings
from fincortex.store import Store

# the methods fincortex documents, with what each needs (checked before any tensor loads); mergekit offers
# more (slerp, breadcrumbs, della, ...) and any of its method names is accepted, validated by mergekit itself.
METHODS: dict[str, dict[str, Any]] = {
    "linear": {"base": False, "params": {"weight"}},
    "task_arithmetic": {"base": True, "params": {"weight"}},
    "ties": {"base": True, "params": {"weight", "density"}},
    "dare_ties": {"base": True, "params": {"weight", "density"}},
    "dare_linear": {"base": True, "params": {"weight", "density"}},
    # Model Stock (Jang et al., 2024): the fine-tuned models' mean pulled toward the base by the angle between
    # their deltas, per tensor; it needs no weights but at least two fine-tuned runs of the same base
    "model_stock": {"base": True, "params": set(), "min_models": 2},
}
FINCORTEX_KEYS = ("name", "kind", "seed")
_SHAPE_KEYS = ("model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
               "num_attention_heads", "num_key_value_heads", "tie_word_embeddings")


class RecipeError(ValueError):
    """A merge recipe that cannot be run; the message names the recipe and the problem."""


@dataclass
class Recipe:
    path: Path
    name: str
    kind: str
    seed: int | None
    config: dict[str, Any]  # the mergekit part, model references resolved to folders
    refs: dict[str, str] = field(default_factory=dict)  # as written -> resolved


@dataclass
class MergeResult:
    name: str
    path: Path
    sha256: str
    method: str


def load_recipe(path: str | Path) -> dict[str, Any]:
    """Parse YAML into a mapping with a clear error for a missing file or malformed content."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"merge recipe {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RecipeError(f"merge recipe {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RecipeError(f"merge recipe {path} must be a YAML mapping (merge_method, models, ...), "
                          f"got {type(data).__name__}")
    return data


def _hub_reachable() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in {"1", "true", "True"}


def resolve_ref(ref: Any, settings: Settings, store: Store, recipe_path: Path) -> str:
    """A recipe's model reference -> a local folder (or a hub id when a hub is reachable)."""
    from fincortex.models import registry
    from fincortex.models.llm.factory import resolve_local_path

    if not isinstance(ref, str) or not ref.strip():
        raise RecipeError(f"{recipe_path}: model reference {ref!r} must be a non-empty string")
    ref = ref.strip()
    if ref == "local":
        return str(resolve_local_path(settings, "local", store))
    candidate = Path(ref).expanduser()
    if not candidate.is_absolute():
        beside = recipe_path.parent / candidate
        candidate = beside if beside.exists() else candidate
    if candidate.exists():
        if not (candidate / "config.json").is_file():
            raise RecipeError(f"{recipe_path}: model path {candidate} has no config.json")
        return str(candidate.resolve())
    for kind in ("chat", "embedder", "reranker"):
        rec = registry.find(store, kind, ref)
        if rec is not None:
            if not Path(rec.path).is_dir():
                raise RecipeError(f"{recipe_path}: registered model {ref!r} points at missing folder {rec.path}")
            return rec.path
    looks_like_hub_id = ref.count("/") == 1 and not ref.startswith((".", "/", "~"))
    if looks_like_hub_id and _hub_reachable():
        return ref
    why = "no model hub is reachable (HF_HUB_OFFLINE=1)" if looks_like_hub_id else "no such path"
    raise RecipeError(f"{recipe_path}: model {ref!r} not found: not a folder, not a registered model, "
                      f"and {why}")


def _read_config(ref: str) -> dict[str, Any]:
    local = Path(ref) / "config.json"
    if local.is_file():
        return json.loads(local.read_text())
    from transformers import AutoConfig  # hub id: fetches config.json only

    return AutoConfig.from_pretrained(ref).to_dict()


def _vocab_digest(ref: str) -> str | None:
    """Digest of the tokenizer's vocabulary (token -> id), None if the folder has no tokenizer.json."""
    f = Path(ref) / "tokenizer.json"
    if not f.is_file():
        return None
    tok = json.loads(f.read_text(encoding="utf-8"))
    vocab = tok.get("model", {}).get("vocab", {})
    added = sorted((a["content"], a["id"]) for a in tok.get("added_tokens", []))
    blob = json.dumps([sorted(vocab.items()) if isinstance(vocab, dict) else vocab, added])
    return hashlib.sha256(blob.encode()).hexdigest()


def _model_refs(cfg: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(reference, its parameters) for every input model, from `models:` or `slices:`."""
    refs: list[tuple[str, dict[str, Any]]] = []
    for i, m in enumerate(cfg.get("models") or []):
        if not isinstance(m, dict) or "model" not in m:
            raise RecipeError(f"models[{i}] must be a mapping with a `model:` key, got {m!r}")
        params = m.get("parameters") or {}
        if not isinstance(params, dict):
            raise RecipeError(f"models[{i}].parameters must be a mapping, got {params!r}")
        refs.append((m["model"], params))
    for s in cfg.get("slices") or []:
        for src in (s or {}).get("sources") or []:
            refs.append((src.get("model"), src.get("parameters") or {}))
    return refs


def validate_recipe(path: str | Path, settings: Settings, store: Store | None = None) -> Recipe:
    """Everything that can be checked without loading tensors; raises RecipeError on the first problem."""
    path = Path(path)
    raw = load_recipe(path)
    store = store or Store(settings.db_path, lock_timeout_s=settings.lock_timeout_s)
    cfg = {k: v for k, v in raw.items() if k not in FINCORTEX_KEYS}
    method = cfg.get("merge_method")
    if not isinstance(method, str):
        raise RecipeError(f"{path}: `merge_method` is required (one of {', '.join(METHODS)}, or any mergekit method)")
    from mergekit.merge_methods import registered_methods

    known_methods = sorted(m.spec.name for m in registered_methods())
    if method not in known_methods:
        raise RecipeError(f"{path}: unknown merge_method {method!r}; known: {', '.join(known_methods)}")
    inputs = _model_refs(cfg)
    if not inputs:
        raise RecipeError(f"{path}: no input models (`models:` list is empty or missing)")
    need = METHODS.get(method, {"base": False, "params": set()})
    if need["base"] and not cfg.get("base_model"):
        raise RecipeError(f"{path}: merge_method {method} needs `base_model`")
    if len(inputs) < need.get("min_models", 1):
        raise RecipeError(f"{path}: merge_method {method} needs at least {need['min_models']} models besides "
                          f"`base_model`, got {len(inputs)}")
    for ref, params in inputs:
        for key in sorted(need["params"] - {"density"}):
            if key not in params and key not in (cfg.get("parameters") or {}):
                raise RecipeError(f"{path}: model {ref!r} has no `{key}` parameter (needed by {method})")
        for key, value in params.items():
            if key in {"weight", "density"} and not isinstance(value, (int, float)):
                raise RecipeError(f"{path}: model {ref!r}: {key} must be a number, got {value!r}")
        if "density" in params and not 0 < params["density"] <= 1:
            raise RecipeError(f"{path}: model {ref!r}: density must be in (0, 1], got {params['density']}")
    seed = raw.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise RecipeError(f"{path}: seed must be an integer, got {seed!r}")
    if method.startswith("dare") and seed is None:
        raise RecipeError(f"{path}: {method} drops weights at random: give a `seed:` so the merge is reproducible")

    refs: dict[str, str] = {}
    for ref in [cfg.get("base_model")] + [r for r, _ in inputs]:
        if ref is not None and ref not in refs:
            refs[ref] = resolve_ref(ref, settings, store, path)
    _check_compatible(path, refs)

    resolved = json.loads(json.dumps(cfg))
    tok_src = cfg.get("tokenizer_source")
    if isinstance(tok_src, str) and tok_src not in {"base", "union"}:
        tok_path = refs.get(tok_src) or resolve_ref(tok_src, settings, store, path)
        if _vocab_digest(tok_path) not in {None, *(_vocab_digest(r) for r in refs.values())}:
            raise RecipeError(f"{path}: tokenizer_source {tok_src!r} has a vocabulary none of the models uses")
        resolved["tokenizer_source"] = tok_path
    if resolved.get("base_model"):
        resolved["base_model"] = refs[resolved["base_model"]]
    for m in resolved.get("models") or []:
        m["model"] = refs[m["model"]]
    for s in resolved.get("slices") or []:
        for src in s.get("sources") or []:
            src["model"] = refs[src["model"]]
    name = raw.get("name") or path.stem
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise RecipeError(f"{path}: name {name!r} must be letters, digits, '-', '_' or '.'")
    return Recipe(path=path, name=name, kind=raw.get("kind", "chat"), seed=seed, config=resolved, refs=refs)


def _check_compatible(path: Path, refs: dict[str, str]) -> None:
    configs = {ref: _read_config(res) for ref, res in refs.items()}
    first_ref, first = next(iter(configs.items()))
    for ref, cfg in configs.items():
        if cfg.get("architectures") != first.get("architectures"):
            raise RecipeError(f"{path}: mismatched architectures: {first_ref!r} is {first.get('architectures')} "
                              f"but {ref!r} is {cfg.get('architectures')}")
        for key in _SHAPE_KEYS:
            if cfg.get(key) != first.get(key):
                raise RecipeError(f"{path}: mismatched {key}: {first_ref!r} has {first.get(key)} "
                                  f"but {ref!r} has {cfg.get(key)}")
    vocabs = {ref: _vocab_digest(res) for ref, res in refs.items()}
    known = {ref: v for ref, v in vocabs.items() if v is not None}
    if len(set(known.values())) > 1:
        a, b = list(known)[0], next(r for r in known if known[r] != known[list(known)[0]])
        raise RecipeError(f"{path}: mismatched vocabularies: the tokenizers of {a!r} and {b!r} differ "
                          "(token ids would not line up)")


def run_merge(recipe: Recipe, settings: Settings, out: Path | None = None, *, overwrite: bool = False,
              store: Store | None = None, register: bool = True, quiet: bool = False) -> MergeResult:
    """Run a validated recipe with mergekit, then write the lineage card and register the model."""
    import torch
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions
    from mergekit.merge import run_merge as mergekit_run

    from fincortex.models import registry
    from fincortex.models.merging.lineage import LineageCard, Parent, model_digest, read_card, write_card

    store = store or Store(settings.db_path, lock_timeout_s=settings.lock_timeout_s)
    out = Path(out) if out else settings.models_dir / recipe.name
    if out.exists():
        if not overwrite:
            raise RecipeError(f"output folder {out} already exists: pass overwrite=True (--overwrite) or another name")
        shutil.rmtree(out)
    try:
        config = MergeConfiguration.model_validate(recipe.config)
    except Exception as exc:  # pydantic ValidationError: mergekit's own schema
        raise RecipeError(f"{recipe.path}: mergekit rejected the recipe: {exc}") from exc
    tmp = out.with_name(out.name + ".merging")
    shutil.rmtree(tmp, ignore_errors=True)
    options = MergeOptions(device="cuda" if torch.cuda.is_available() else "cpu", copy_tokenizer=True,
                           random_seed=recipe.seed, lazy_unpickle=False, quiet=quiet,
                           write_model_card=True, safe_serialization=True)
    mergekit_run(config, str(tmp), options=options)
    tmp.rename(out)

    base_ref = recipe.config.get("base_model")
    parents = []
    data_summary: dict[str, Any] = {}
    for written, resolved in recipe.refs.items():
        role = "base" if resolved == base_ref else "donor"
        digest = model_digest(resolved) if Path(resolved).is_dir() else "hub:" + resolved
        card = read_card(resolved) if Path(resolved).is_dir() else None
        parents.append(Parent(name=card.name if card else written, path=resolved, sha256=digest, role=role))
        if card is not None and card.data_summary:
            data_summary[written] = card.data_summary
    params = {k: v for k, v in recipe.config.items() if k not in ("base_model",)}
    card = write_card(out, LineageCard(
        name=recipe.name, kind=recipe.kind, method=f"merge:{recipe.config['merge_method']}",
        parents=parents, params={"recipe": params, "recipe_file": str(recipe.path)}, seed=recipe.seed,
        data_summary=data_summary,
    ))
    if register:
        registry.register(store, card, str(out))
    return MergeResult(name=recipe.name, path=out, sha256=card.sha256 or "", method=card.method)


def merge_from_recipe(recipe_path: str | Path, settings: Settings, out: Path | None = None, *,
                      overwrite: bool = False, quiet: bool = False) -> MergeResult:
    """Validate (cheap, clear errors), then merge (heavy)."""
    store = Store(settings.db_path, lock_timeout_s=settings.lock_timeout_s)
    recipe = validate_recipe(recipe_path, settings, store)
    return run_merge(recipe, settings, out, overwrite=overwrite, store=store, quiet=quiet)
