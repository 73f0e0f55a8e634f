-- Retrieval: embedding cache and derived-index bookkeeping (see retrieval/embedding_cache.py and
-- retrieval/index_registry.py). Indexes themselves are files under Settings.index_dir; these tables
-- only say what was built from which chunks, so `fincortex index status` can answer without loading.

-- model_key identifies the weights (name + sha256 of the weight files), so a retrained model under
-- the same name never reuses stale vectors.
CREATE TABLE embedding_models (
    model_key      VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,              -- what the user asked for (alias, hub id or path)
    path           VARCHAR,                       -- resolved local folder
    dim            INTEGER NOT NULL,
    weights_sha256 VARCHAR NOT NULL,
    registered_at  TIMESTAMP NOT NULL
);

-- One L2-normalised float32 vector per (chunk, model): rebuilding an index never re-embeds a chunk.
-- Rows of chunks that no longer exist are pruned when an index syncs.
CREATE TABLE chunk_embeddings (
    chunk_id    BIGINT NOT NULL,
    model_key   VARCHAR NOT NULL,
    vector      FLOAT[] NOT NULL,
    embedded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (chunk_id, model_key)
);

CREATE TABLE retrieval_indexes (
    index_name         VARCHAR PRIMARY KEY,       -- folder name under the index dir
    kind               VARCHAR NOT NULL,          -- faiss | bm25
    model_key          VARCHAR,                   -- faiss only
    spec               VARCHAR NOT NULL,          -- faiss factory string, or the BM25 tokenizer recipe
    path               VARCHAR NOT NULL,
    n_items            BIGINT NOT NULL,
    chunks_fingerprint VARCHAR NOT NULL,          -- count and xor of chunk ids it was synced to
    backend            VARCHAR,                   -- faiss-cpu | faiss-gpu
    built_at           TIMESTAMP NOT NULL,        -- last full build
    updated_at         TIMESTAMP NOT NULL,        -- last incremental sync
    build_seconds      DOUBLE
);
