"""The SDK: one object over the service functions. The CLI and the UI are thin shells over it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fincortex import queries  # the read layer: plain SQL over the store, cheap to import
from fincortex.config import Settings
from fincortex.store import Store

if TYPE_CHECKING:  # return types only: every capability is imported lazily, when it is used
    import pandas as pd

    from fincortex.agents.analyst.graph import AnalystAnswer
    from fincortex.agents.analyst.verify import Verification
    from fincortex.agents.common.deps import AgentDeps
    from fincortex.agents.common.toolbox import AgentToolbox
    from fincortex.agents.forecasting.evaluation import EvalReport
    from fincortex.agents.forecasting.graph import ForecastResult
    from fincortex.agents.trading.backtest import BacktestReport
    from fincortex.agents.trading.multiasset import PortfolioReport
    from fincortex.datasets.fetch import PulledDataset
    from fincortex.ingest.pipeline import IngestReport
    from fincortex.models.llm.base import FincortexChatModel
    from fincortex.models.merging.cpt import CPTResult
    from fincortex.models.merging.lm_eval import LMEvalRow
    from fincortex.models.merging.merge import MergeResult
    from fincortex.models.registry import ModelRecord
    from fincortex.models.tuning.embedder import TuneResult
    from fincortex.models.tuning.pairs import PairsRun
    from fincortex.prices import PriceImport
    from fincortex.progress import Progress
    from fincortex.retrieval.searcher import SearchResults


class Client:
    """Entry point for developers: `Client(db=..., mirror=...)`.

    Every capability lives in a service module; methods here only wire settings and the store in.
    """

    def __init__(self, db: str | Path | None = None, mirror: str | Path | None = None,
                 settings: Settings | None = None) -> None:
        base = settings or Settings.from_env()
        overrides = {k: Path(v) for k, v in (("db", db), ("mirror", mirror)) if v is not None}
        self.settings = base.with_(**overrides) if overrides else base
        self.store = Store(self.settings.db_path, lock_timeout_s=self.settings.lock_timeout_s)

    # -- data, ingestion, prices (fincortex.ingest, fincortex.datasets, fincortex.prices) -----------
    def pull(self, name: str, on_file=None) -> PulledDataset:
        """Bring a public dataset ('ectsum', 'ectsum:val', 'headlines', ...) into the cache, verified."""
        from fincortex.datasets import service

        return service.pull(self.settings, name, on_file)

    def list_datasets(self) -> list[dict]:
        """Every registered dataset: name, kind, description, files, bytes, present, licenses, available_at_rule."""
        from fincortex.datasets import service

        return service.list_datasets(self.settings)

    def dataset_records(self, spec: str) -> list:
        """The records of a records dataset: PhraseBank's LabelledSentence, ForecastBench's ForecastRound."""
        from fincortex.datasets import service

        return service.records(self.settings, spec)

    def ingest(
        self,
        paths=None,
        *,
        dataset: str | None = None,
        doc_type: str | None = None,
        ticker: str | None = None,
        published_at=None,
        source: str = "file",
        encoding: str = "utf-8",
        progress: Progress | None = None,
        update_index: bool = True,
        engine: str = "local",
        ray_address: str | None = None,
    ) -> IngestReport:
        """Ingest files/folders, or a dataset ('ectsum:val'); returns an IngestReport (per-file outcomes).

        engine='ray' runs parse, chunk and embed as Ray Data stages (a local Ray instance, or the cluster
        at ray_address); this process stays the only database writer. update_index=True: when an index was
        built before, it is brought level with the new chunks now (a search never indexes; the first build is
        `build_index`)."""
        from fincortex.ingest import service
        from fincortex.ingest.dates import parse_cli_date
        from fincortex.ingest.parsers import FileOptions

        if dataset:
            if paths:
                raise ValueError("give either paths or a dataset, not both")
            report = service.ingest_dataset(self.settings, self.store, dataset, progress, engine=engine,
                                            ray_options=self._ray_options(engine, ray_address))
        else:
            if isinstance(published_at, str):
                published_at = parse_cli_date(published_at)
            options = FileOptions(doc_type=doc_type, ticker=ticker, published_at=published_at, source=source,
                                  encoding=encoding)
            if isinstance(paths, (str, Path)):
                paths = [paths]
            report = service.ingest_paths(self.settings, self.store, paths or [], options, progress, engine=engine,
                                          ray_options=self._ray_options(engine, ray_address))
        if update_index and report.count("added", "replaced") and self._has_index():
            self.build_index(progress=progress)  # incremental: embeds only the new chunks, drops replaced ones
        return report

    def _ray_options(self, engine: str, address: str | None) -> Any:
        if engine != "ray":
            return None
        from fincortex.retrieval.ray_embed import ray_options

        return ray_options(self.settings, self.store, address)

    def _has_index(self) -> bool:
        return queries.has_index(self.store)

    def import_prices(self, file: str | Path, symbol: str, source: str | None = None) -> PriceImport:
        from fincortex.prices import import_prices

        return import_prices(self.store, Path(file), symbol, source)

    def stats(self) -> dict:
        """Row counts and spans: what the database holds."""
        return queries.stats(self.store)

    def documents(self, limit: int = 100, offset: int = 0, source: str | None = None,
                  ticker: str | None = None, doc_type: str | None = None) -> list[dict]:
        """Documents newest first, optionally filtered (for browsing; search is `search`)."""
        return queries.documents(self.store, limit, offset, source=source, ticker=ticker, doc_type=doc_type)

    def document(self, doc_id: int) -> dict:
        """One document with its chunks in order."""
        return queries.document(self.store, doc_id)

    def prices(self, symbol: str, start=None, end=None) -> pd.DataFrame:
        """Daily bars for a symbol as a pandas DataFrame (ts, open, high, low, close, volume)."""
        return queries.prices(self.store, symbol, start, end)

    def doctor(self) -> dict:
        from fincortex.doctor import diagnose

        return diagnose(self.settings)

    # -- trading: backtests (fincortex.agents.trading.backtest) ---------------------------------------------
    def backtest(self, symbol: str, start: str, end: str, agents=("buyhold",), *, seeds=None,
                 progress: Progress | None = None,
                 **options) -> BacktestReport | list[BacktestReport]:
        """Backtest agents ('buyhold', 'sma', 'momentum', 'llm') on one symbol's daily bars.

        options: BacktestConfig fields (fees_bps, slippage_bps, seed, initial_cash, allow_short, llm={...}).
        Returns a BacktestReport (or a list of them when `seeds` is given); raises LeakageError if the
        post-run leakage audit fails.
        """
        from fincortex.agents.trading.backtest import BacktestConfig, run_backtest, run_seeds

        agents = (agents,) if isinstance(agents, str) else tuple(agents)
        config = BacktestConfig(symbol.upper(), str(start), str(end), agents, **options)
        if seeds is not None:
            return run_seeds(self.agent_deps(), config, list(seeds), progress)
        return run_backtest(self.agent_deps(), config, progress)

    def backtest_portfolio(self, symbols, config, allocation: str = "inverse_vol",
                           progress: Progress | None = None) -> PortfolioReport:
        """One run over several symbols (agents.trading.multiasset): capital split by `allocation`
        (inverse_vol | equal), one stored, audited sleeve per symbol, portfolio equity and metrics.
        `config`: a BacktestConfig (its symbol is replaced per sleeve) or a dict of its fields."""
        from fincortex.agents.trading.backtest import BacktestConfig
        from fincortex.agents.trading.multiasset import run_portfolio

        if isinstance(config, dict):
            config = BacktestConfig(symbol=list(symbols)[0], **config)
        return run_portfolio(self.agent_deps(), config, list(symbols), allocation, progress)

    def backtest_runs(self, limit: int = 20) -> list[dict]:
        from fincortex.agents.trading.backtest import list_runs

        return list_runs(self.store, limit)

    def backtest_plot(self, run_id: str, path) -> Path:
        """Equity + drawdown PNG of a stored run."""
        from fincortex.agents.trading.plots import plot_run

        return plot_run(self.store, run_id, path)

    # -- retrieval: search, indexes, evaluation (fincortex.retrieval.service) ------------------------
    def search(self, query: str, k: int = 10, as_of=None, tickers=None, doc_types=None, mode: str = "hybrid",
               rerank: bool = True, *, sources=None, doc_ids=None) -> SearchResults:
        """Hits (chunk text, document title/source/ticker/page, available_at, every stage's score).

        as_of (datetime/date/ISO string, UTC): nothing available after it is returned. mode: hybrid |
        dense | bm25. rerank=True without a configured cross-encoder returns unreranked hits and says so
        in `results.warnings`. Answers from the indexes as built: chunks not indexed yet are left out, counted in
        `results.not_indexed` and named in `results.warnings` (never embedded here). Raises EmptyIndexError when
        the database holds no chunks, IndexNotBuiltError when no index was built yet (`build_index`).
        """
        from fincortex.retrieval import service

        return service.search(self.store, self.settings, query, k=k, as_of=as_of, tickers=tickers,
                              doc_types=doc_types, sources=sources, doc_ids=doc_ids, mode=mode, rerank=rerank)

    def build_index(self, spec: str | None = None, rebuild: bool = False, progress: Progress | None = None,
                    stages: tuple[str, ...] | None = None) -> dict:
        """Embed new chunks (cached per model), update the FAISS and BM25 indexes; `rebuild` starts over;
        `stages=("bm25",)` builds the lexical index alone (hybrid search runs on it until dense exists)."""
        from fincortex.retrieval import service

        return service.build_index(self.store, self.settings, spec=spec, rebuild=rebuild, progress=progress,
                                   stages=stages)

    def calibrate_fusion(self, force: bool = False, max_queries: int | None = None,
                         progress: Progress | None = None) -> dict:
        """Hybrid fusion weights for the current embedder, from the training side of the held-apart TAT-QA
        split (kept per embedder: a second call returns them unless force)."""
        from fincortex.models.tuning.fusion import calibrate_fusion

        return calibrate_fusion(self.settings, self.store, force=force, max_queries=max_queries, progress=progress)

    def index_status(self) -> dict:
        from fincortex.retrieval import service

        return service.index_status(self.store, self.settings)

    def evaluate_retrieval(self, beir_dir, modes=("dense", "bm25", "hybrid"), rerank: bool = False,
                           json_out=None, max_queries: int | None = None, store_path=None,
                           progress: Progress | None = None,
                           embedder: str | None = None, reranker: str | None = None) -> dict:
        """nDCG@10, MRR@10, recall@k, MAP of the search pipeline on a BEIR folder (ranx). embedder/reranker:
        a registered name, folder or id (default: what search uses for this database)."""
        from fincortex.retrieval import service

        return service.evaluate_retrieval(self.settings, beir_dir, modes=tuple(modes), rerank=rerank,
                                          json_out=json_out, store_path=store_path, max_queries=max_queries,
                                          progress=progress, embedder=embedder, reranker=reranker)

    # -- models: chat backends, CPT, merging, evaluation, registry (fincortex.models) ---------------
    def chat_model(self, spec: str | None = None, *, cache: bool = True, **params) -> FincortexChatModel:
        """A LangChain chat model with score_choices (spec: local | path | name | openai:<url>#<model>)."""
        from fincortex.models.llm.factory import get_chat_model

        return get_chat_model(self.settings, spec, cache=cache, **params)

    def tune_cpt(self, config=None, progress: Progress | None = None, **fields) -> CPTResult:
        """Continual pretraining on ingested chunks; `config` is a CPTConfig, or give its fields."""
        from fincortex.models.merging.cpt import CPTConfig, run_cpt

        return run_cpt(config or CPTConfig(**fields), self.settings, self.store, progress)

    def merge(self, recipe, out=None, overwrite: bool = False, quiet: bool = False) -> MergeResult:
        """Merge models from a mergekit-style YAML recipe; writes a lineage card and registers the result."""
        from fincortex.models.merging.merge import merge_from_recipe

        return merge_from_recipe(recipe, self.settings, out, overwrite=overwrite, quiet=quiet)

    def evaluate_lm(self, models, reference: str = "local", sources=None, n_chunks: int = 64,
                    progress: Progress | None = None) -> list[LMEvalRow]:
        """Held-out financial perplexity + chat retention vs `reference`, one row per model."""
        from fincortex.models.merging.lm_eval import evaluate_lm

        return evaluate_lm(list(models), self.settings, reference=reference, sources=sources, n_chunks=n_chunks,
                           store=self.store, progress=progress)

    def models(self, kind: str | None = None) -> list[ModelRecord]:
        from fincortex.models import registry

        return registry.list_models(self.store, kind)

    def model(self, name: str, kind: str = "chat") -> ModelRecord:
        from fincortex.models import registry

        return registry.get(self.store, kind, name)

    def set_default_model(self, name: str, kind: str = "chat", *, reindex: bool = True,
                          progress: Progress | None = None) -> ModelRecord:
        """Make NAME the default of its kind. For kind='embedder' the corpus is re-embedded with it and its
        index built now (reindex=False leaves that to `build_index`; dense search fails until then)."""
        from fincortex.models import registry

        record = registry.set_default(self.store, kind, name)
        if kind == "embedder" and reindex:
            self.build_index(progress=progress)
        return record

    # -- dashboard readers (fincortex.ui) ------------------------------------------------------------
    def chunks(self, chunk_ids) -> list[dict]:
        """Chunks by id with their document's title/ticker/source (to show an agent's evidence)."""
        return queries.chunks(self.store, chunk_ids)

    def agent_run(self, run_id: str) -> dict:
        """An analyst/forecaster run as recorded, each tool call with the chunks it returned."""
        return queries.agent_run(self.store, run_id)

    # -- agents: the dependencies every agent is given (fincortex.agents.common.deps) -------------------
    def agent_deps(self) -> AgentDeps:
        """What every agent is given (search on this store, chat models, the store, settings): the SDK
        builds it here, so no agent reaches up into the SDK."""
        from fincortex.agents.common.deps import AgentDeps

        return AgentDeps.build(self.settings, self.store)

    # -- agents: analyst and forecaster (fincortex.agents.analyst.graph, .forecasting.evaluation) -------
    def ask(self, question: str, as_of=None, tickers=None, *, thread_id: str | None = None, model: str | None = None,
            progress: Progress | None = None, **config) -> AnalystAnswer:
        """Answer from retrieved chunks with checked citations (AnalystAnswer). `thread_id` resumes a
        conversation; as_of (default now) bounds every search; config: AnalystConfig fields."""
        from fincortex.agents.analyst.graph import AnalystConfig, ask_question

        return ask_question(self.agent_deps(), question, as_of=as_of, tickers=tickers, thread_id=thread_id,
                            config=AnalystConfig(model=model, **config), progress=progress)

    def verify(self, claim: str, as_of=None, **config) -> Verification:
        """Check a claim against the documents public by as_of (default now): supported / refuted / not
        enough evidence, with an explanation and citations (Verification). config: VerifyConfig fields."""
        from fincortex.agents.analyst.verify import VerifyConfig, verify_claim

        return verify_claim(self.agent_deps(), claim, as_of=as_of, config=VerifyConfig(**config))

    def evaluate_financebench(self, questions, pdfs, *, limit: int | None = None, json_out=None,
                              progress: Progress | None = None, **config) -> dict:
        """FinanceBench in one shared store: ingest `pdfs`, ask each question (doc/page recall@k, numeric
        accuracy, refusals, seconds) beside BM25, dense, hybrid(+rerank) and closed book; config: AnalystConfig."""
        from fincortex.agents.analyst.financebench import run_financebench
        from fincortex.agents.analyst.graph import AnalystConfig

        return run_financebench(self.agent_deps(), questions, pdfs, limit=limit, json_out=json_out,
                                config=AnalystConfig(**config), progress=progress)

    def forecast(self, questions, resolutions, *, limit: int | None = None, sources=None, models=None,
                 calibration: str | None = "platt", no_retrieval_baseline: bool = True, json_out=None, plot=None,
                 progress: Progress | None = None, cpu_threads: int | None = None, **config) -> EvalReport:
        """Forecast a ForecastBench round (question + resolution files) and score it against the baselines;
        returns an EvalReport (also stored in DuckDB). config: ForecastConfig fields (samples, retrieval, ...)."""
        from fincortex.agents.forecasting.evaluation import EvalOptions, evaluate
        from fincortex.agents.forecasting.graph import ForecastConfig

        if models:
            config["models"] = (models,) if isinstance(models, str) else tuple(models)
        else:
            config.setdefault("models", (self.settings.llm or "local",))
        options = EvalOptions(limit=limit, sources=tuple(sources) if sources else None, calibration=calibration,
                              no_retrieval_baseline=no_retrieval_baseline, cpu_threads=cpu_threads)
        return evaluate(self.agent_deps(), questions, resolutions, ForecastConfig(**config), options,
                        json_out=json_out, plot=plot, progress=progress)

    def forecast_question(self, question, *, models=None, calibration_id: str | None = None,
                          **config) -> ForecastResult:
        """Forecast one ForecastQuestion (agents.forecastbench) with the agent; returns a ForecastResult."""
        from fincortex.agents.forecasting import calibration as calib
        from fincortex.agents.forecasting.graph import ForecastConfig, Forecaster

        specs = (models,) if isinstance(models, str) else tuple(models or (self.settings.llm or "local",))
        calibrator = calib.load(self.store, calibration_id) if calibration_id else None
        return Forecaster(self.agent_deps(), ForecastConfig(models=specs, **config)).forecast(question, calibrator)

    def agent_tools(self, kind: str, question: str, as_of=None, *, mode: str = "hybrid", rerank: bool = True,
                    config: dict | None = None) -> AgentToolbox:
        """The agents' point-in-time search, read-only SQL and calculator bound to one new recorded run of
        `kind` (as_of None = now): for graphs and servers outside fincortex (fincortex.integrations)."""
        from fincortex.agents.common.toolbox import open_toolbox

        return open_toolbox(self.store, self.search, kind, question, as_of, mode=mode, rerank=rerank, config=config)

    def forecast_history_import(self, folder) -> dict:
        """Import a ForecastBench-style folder (question_sets/, resolution_sets/) as point-in-time history."""
        from fincortex.agents.forecasting.history import import_history

        return import_history(self.store, folder)

    def forecast_round(self, questions, *, resolutions=None, members=None, model: str | None = None,
                       retrieval: bool = True, history=None, submission=None, organization: str = "fincortex",
                       model_name: str | None = None) -> dict:
        """The default forecaster (members stacked point-in-time) on every target of a question set;
        scored by ForecastBench's rules when a resolution set is given; `submission` writes the file."""
        from fincortex.agents.forecasting.service import forecast_file

        return forecast_file(self.agent_deps(), self.store, questions, resolutions=resolutions, members=members, model=model,
                             retrieval=retrieval, history=history, submission_path=submission,
                             organization=organization, model_name=model_name)

    def forecast_history_audit(self) -> dict:
        """Every stored stack fit re-checked: it learned only from outcomes public before its due date."""
        from fincortex.agents.forecasting.history import audit_stack_fits

        return audit_stack_fits(self.store)

    def agent_audit(self, run_id: str) -> dict:
        """Re-check an agent run's recorded chunks against the chunks table and its as_of."""
        from fincortex.agents.common.runs import audit_run

        return audit_run(self.store, run_id)

    # -- tuning: embedder and reranker on the user's corpus (fincortex.models.tuning.pairs, .embed_tuning, ...) --
    def build_training_pairs(self, config=None, progress: Progress | None = None, **fields) -> PairsRun:
        """Collect and store a pairs run (PairsConfig or its fields); returns a PairsRun."""
        from fincortex.models.tuning.pairs import PairsConfig, build_pairs

        return build_pairs(self.settings, self.store, config or PairsConfig(**fields), progress)

    def training_pair_runs(self, limit: int = 20) -> list[dict]:
        from fincortex.models.tuning.pairs import list_runs

        return list_runs(self.store, limit)

    def tune_embedder(self, config=None, progress: Progress | None = None, reindex: bool = True,
                      **fields) -> TuneResult:
        """Fine-tune the embedder (EmbedTuneConfig or its fields); registers it (kind 'embedder'). With
        set_default=True it becomes the default and, unless reindex=False, the corpus is re-embedded now."""
        from fincortex.models.tuning.embedder import EmbedTuneConfig, run_embed_tuning

        config = config or EmbedTuneConfig(**fields)
        result = run_embed_tuning(config, self.settings, self.store, progress)
        if config.set_default and reindex:
            self.build_index()
        return result

    def tune_reranker(self, config=None, progress: Progress | None = None, **fields) -> TuneResult:
        """Train a cross-encoder from the (tuned) embedder on the same pairs (RerankTuneConfig or its
        fields); registered as kind 'reranker' and, by default, made the default reranker."""
        from fincortex.models.tuning.reranker import RerankTuneConfig, run_rerank_tuning

        return run_rerank_tuning(config or RerankTuneConfig(**fields), self.settings, self.store, progress)

    def export_heldout(self, out) -> dict:
        """The held-apart TAT-QA split as a BEIR folder (evaluate with `evaluate_retrieval(out, ...)`)."""
        from fincortex.models.tuning.heldout import export_heldout

        return export_heldout(self.settings, out)

    # -- the evaluation suite: one configuration through every area, runs compared (fincortex.suite) ----
    def eval_suite(self, *, profile: str = "full", quick: bool = False, embedder: str | None = None,
                   reranker: str | None = None, chat_model: str | None = None, parts=None, label: str = "",
                   run_id: str | None = None, reuse: bool = True, threads: int = 1,
                   progress: Progress | None = None) -> dict:
        """Run (or, given an earlier run_id, resume) the suite for one model configuration; stored in this
        database with each model's path, hash and lineage. Units whose inputs did not change are reused."""
        from fincortex.suite.service import build_config, run_suite

        config = build_config(self.store, self.settings, profile_name=profile, quick=quick, embedder=embedder,
                              reranker=reranker, chat_model=chat_model, parts=tuple(parts) if parts else None,
                              label=label)
        return run_suite(self.settings, self.store, config, run_id=run_id, reuse=reuse, threads=threads,
                         progress=progress)

    def eval_suite_runs(self, limit: int = 50) -> list[dict]:
        from fincortex.suite.runs import list_runs

        return list_runs(self.store, limit)

    def eval_compare(self, run_a: str, run_b: str, html=None) -> dict:
        """Paired differences (B - A) with 95% intervals and a verdict per area; `html`: write the report."""
        from fincortex.suite.compare import compare_runs

        comparison = compare_runs(self.store, run_a, run_b)
        if html is not None:
            from fincortex.suite.report import write_html

            comparison["html"] = str(write_html(comparison, html))
        return comparison
