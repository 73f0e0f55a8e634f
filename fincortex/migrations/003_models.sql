-- Model registry (every chat model, tuned embedder or reranker fincortex builds or adopts) and the
-- LLM response cache that makes agent runs replayable.
--
-- models: one row per (kind, name). Lineage is stored twice on purpose: here for queries
-- ("which models descend from X?", "what is the default chat model?") and as a card (markdown +
-- JSON) beside the weights, so a copied model folder still explains itself.
CREATE TABLE models (
    kind              VARCHAR NOT NULL,         -- chat | embedder | reranker | ...
    name              VARCHAR NOT NULL,         -- unique within kind
    path              VARCHAR NOT NULL,         -- folder with the weights (or a hub id / endpoint spec)
    sha256            VARCHAR,                  -- digest of the weight files + config (models/lineage.py)
    method            VARCHAR NOT NULL,         -- gguf-convert | cpt | cpt-lora | merge:ties | finetune | ...
    params            JSON,                     -- method parameters (merge recipe, LoRA config, ...)
    parents           JSON,                     -- [{"name", "path", "sha256", "role"}]
    data_summary      JSON,                     -- what it was trained on (counts, sources, date span)
    hyperparams       JSON,                     -- learning rate, steps, batch size, ...
    seed              BIGINT,
    metrics           JSON,                     -- evaluation results keyed by metric name
    fincortex_version VARCHAR,
    is_default        BOOLEAN NOT NULL DEFAULT FALSE,  -- at most one TRUE per kind (enforced in code)
    created_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, name)
);

-- Deterministic replay: the same (model hash, messages or prompt, parameters, seed) returns the
-- stored response without loading the model.
CREATE TABLE llm_cache (
    cache_key  VARCHAR PRIMARY KEY,             -- sha256 over the canonical JSON of the request
    kind       VARCHAR NOT NULL,                -- chat | score
    model      VARCHAR NOT NULL,                -- human-readable model spec
    model_hash VARCHAR NOT NULL,
    request    JSON NOT NULL,
    response   JSON NOT NULL,
    created_at TIMESTAMP NOT NULL
);
