"""Run the suite for one model configuration: resolve the models (paths, hashes, lineage), then each
unit of each part, skipping units this run already finished (resume) and reusing units of earlier runs
whose fingerprint matches (only what depends on a changed model is recomputed)."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fincortex.config import Settings
from fincortex.progress import Progress, report
from fincortex.store import Store
from fincortex.suite import runs
from fincortex.suite.config import ModelChoice, SuiteConfig, SuiteError, fingerprint, profile
from fincortex.suite.parts import PARTS


def _registry_row(store: Store, kind: str, name: str | None, path: str | None) -> dict[str, Any] | None:
    from fincortex.models import registry

    for rec in registry.list_models(store, kind):
        if rec.name == name or (path and Path(rec.path).resolve() == Path(path).resolve()):
            return {"name": rec.name, "method": rec.method, "sha256": rec.sha256, "parents": rec.parents,
                    "seed": rec.seed, "params": rec.params, "is_default": rec.is_default}
    return None


def _digest(path: str | None) -> str | None:
    from fincortex.models.merging.lineage import model_digest

    return model_digest(path) if path and Path(path).exists() else None


def resolve_embedder(store: Store, settings: Settings, asked: str | None) -> ModelChoice:
    from fincortex.retrieval import service
    from fincortex.retrieval.embedder import model_ref

    name = service.named_embedder(store, asked) if asked else service.embedding_model_name(store, settings)
    ref = model_ref(name)
    # `load` = the alias or folder: the packaged alias keeps its embedding cache key (vectors already built)
    return ModelChoice("embedder", asked or name, str(ref.path), ref.weights_sha256,
                       _registry_row(store, "embedder", asked or name, str(ref.path)), load=name)


def resolve_reranker(store: Store, asked: str | None) -> ModelChoice:
    """'none' = no reranker; a registry name, folder or id (llm-first / llm-icr) as given; None = what search
    uses (FINCORTEX_RERANKER, else the registry default), or none when there is none."""
    import os

    from fincortex.retrieval import service
    from fincortex.retrieval.reranker import RerankerUnavailable, resolve_reranker as resolve

    if asked == "none":
        return ModelChoice("reranker", "none", None, None)
    if asked:
        found = service.registered_path(store, "reranker", asked)
        path = found[1] if found else asked
    else:
        try:
            path = resolve(store, os.environ.get("FINCORTEX_RERANKER"))
        except RerankerUnavailable:
            return ModelChoice("reranker", None, None, None)
    return ModelChoice("reranker", asked or path, path, _digest(path), _registry_row(store, "reranker", asked, path))


def resolve_chat(store: Store, settings: Settings, asked: str | None) -> ModelChoice:
    from fincortex.models.llm.factory import resolve_local_path

    spec = asked or settings.llm or "local"
    if spec.startswith("openai:"):  # an endpoint: no weights here to hash; the spec names it
        return ModelChoice("chat", spec, None, None)
    path = str(resolve_local_path(settings, spec, store))
    return ModelChoice("chat", spec, path, _digest(path), _registry_row(store, "chat", spec, path))


def build_config(store: Store, settings: Settings, *, profile_name: str = "full", quick: bool = False,
                 embedder: str | None = None, reranker: str | None = None, chat_model: str | None = None,
                 parts: tuple[str, ...] | None = None, label: str = "") -> SuiteConfig:
    unknown = [p for p in parts or () if p not in PARTS]
    if unknown:
        raise SuiteError(f"unknown suite part(s) {unknown}; choose from {', '.join(PARTS)}")
    return SuiteConfig(profile(profile_name, quick), resolve_embedder(store, settings, embedder),
                       resolve_reranker(store, reranker), resolve_chat(store, settings, chat_model),
                       tuple(parts or PARTS), label)


@dataclass
class SuiteContext:
    """What a part's unit gets: settings bound to the configuration's embedder, the user's store (results,
    held-out LM chunks), work stores the suite keeps for itself (history, prices, member caches)."""

    settings: Settings
    store: Store
    config: SuiteConfig
    progress: Progress | None = None
    threads: int = 1
    _work: dict[str, Store] = field(default_factory=dict)

    @property
    def mirror(self) -> Path:
        if self.settings.mirror is None:
            raise SuiteError("the suite evaluates on the data mirror's dev splits: set FINCORTEX_DATA_MIRROR")
        return Path(self.settings.mirror)

    def work_store(self, name: str) -> Store:
        """A store of the suite's own, shared by its runs (so caches carry over), apart from the user's data."""
        if name not in self._work:
            folder = self.settings.cache_dir / "suite"
            folder.mkdir(parents=True, exist_ok=True)
            self._work[name] = Store(folder / f"{name}.duckdb", lock_timeout_s=self.settings.lock_timeout_s)
        return self._work[name]

    def work_settings(self, store: Store) -> Settings:
        return replace(self.settings, db=store.path, home=self.settings.home)

    def deps(self, store: Store):
        from fincortex.agents.common.deps import AgentDeps

        return AgentDeps.build(self.work_settings(store), store)

    def import_prices(self, store: Store, symbol: str, relative: str) -> None:
        from fincortex.prices import import_prices

        import_prices(store, self.mirror / relative, symbol)

    def ingest_dataset(self, store: Store, spec: str) -> None:
        """Documents into a work store through the same ingestion service the SDK uses."""
        from fincortex.ingest.service import ingest_dataset

        ingest_dataset(self.work_settings(store), store, spec, self.progress)


def _module(part: str):
    return importlib.import_module(PARTS[part])


def planned_units(config: SuiteConfig) -> list[tuple[str, str, str]]:
    """(part, unit, fingerprint) in run order."""
    out = []
    for part in config.parts:
        mod = _module(part)
        for unit in mod.units(config):
            models = [config.models()[role] for role in mod.depends(unit)]
            out.append((part, unit, fingerprint(part, unit, config.profile, models, mod.VERSION)))
    return out


def run_suite(settings: Settings, store: Store, config: SuiteConfig, *, run_id: str | None = None,
              reuse: bool = True, threads: int = 1, progress: Progress | None = None) -> dict[str, Any]:
    """Run (or resume, given its id) a suite; returns the stored run. A unit that fails fails the run,
    and the finished units stay: re-running with the same id continues from there."""
    run_id = run_id or runs.new_run_id()
    runs.start_run(store, run_id, config.label, config.profile.name, config.as_dict())
    ctx = SuiteContext(settings, store, config, progress, threads)
    started = time.perf_counter()
    plan = planned_units(config)
    try:
        for i, (part, unit, fp) in enumerate(plan):
            done = runs.finished_unit(store, run_id, unit)
            if done is not None and done.fingerprint == fp:
                report(progress, "suite units", i + 1, len(plan), f"{unit}: finished before (resumed)")
                continue
            earlier = runs.unit_by_fingerprint(store, fp, run_id) if reuse else None
            if earlier is not None:
                source, stored = earlier
                runs.save_unit(store, run_id, unit, part, fp,
                               runs.UnitResult(stored.summary, stored.items, stored.payload), stored.wall_s, source)
                report(progress, "suite units", i + 1, len(plan), f"{unit}: reused from {source}")
                continue
            report(progress, "suite units", i, len(plan), f"{unit}: running")
            clock = time.perf_counter()
            result = _module(part).run_unit(ctx, unit)
            runs.save_unit(store, run_id, unit, part, fp, result, time.perf_counter() - clock)
            report(progress, "suite units", i + 1, len(plan), f"{unit}: done")
    except BaseException as exc:  # KeyboardInterrupt too: the run is marked, finished units stay
        runs.finish_run(store, run_id, "failed", time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        raise
    runs.finish_run(store, run_id, "ok", time.perf_counter() - started)
    return runs.get_run(store, run_id)
