-- Core tables: documents and their chunks, prices, ingestion runs with per-file outcomes.
-- available_at = when the information became public (see fincortex/ingest/sources.py for each
-- source's rule); every search, agent and backtest filters on it.
CREATE TABLE documents (
    doc_id            BIGINT PRIMARY KEY,       -- stable hash of source_key
    source_key        VARCHAR NOT NULL UNIQUE,  -- identity: absolute path or dataset record key
    content_hash      VARCHAR NOT NULL,         -- sha256 of the parsed content; same hash = nothing to do
    title             VARCHAR,
    source            VARCHAR NOT NULL,         -- file | ectsum | cnbc | reuters | guardian | filings | tatqa | ...
    doc_type          VARCHAR NOT NULL,         -- transcript | news | filing | report | text | ...
    ticker            VARCHAR,
    published_at      TIMESTAMP,                -- what the source states, when it states one
    available_at      TIMESTAMP NOT NULL,
    available_at_rule VARCHAR NOT NULL,         -- how available_at was derived, for audits
    uri               VARCHAR NOT NULL,         -- origin: the file or dataset file it came from
    origin_hash       VARCHAR NOT NULL,         -- sha256 of that origin: unchanged origin = skip it
    n_pages           INTEGER,
    n_chunks          INTEGER NOT NULL,
    n_bytes           BIGINT,
    meta              JSON,
    ingested_at       TIMESTAMP NOT NULL
);

CREATE TABLE chunks (
    chunk_id     BIGINT PRIMARY KEY,            -- stable hash of (source_key, content_hash, ordinal)
    doc_id       BIGINT NOT NULL,
    ordinal      INTEGER NOT NULL,
    text         VARCHAR NOT NULL,
    n_tokens     INTEGER NOT NULL,
    page_start   INTEGER,                       -- 1-based PDF pages; NULL for unpaged sources
    page_end     INTEGER,
    is_table     BOOLEAN NOT NULL DEFAULT FALSE,
    available_at TIMESTAMP NOT NULL
);
CREATE INDEX chunks_doc ON chunks (doc_id);
CREATE INDEX documents_uri ON documents (uri);

CREATE TABLE prices (
    symbol       VARCHAR NOT NULL,
    ts           TIMESTAMP NOT NULL,            -- bar start (UTC)
    open         DOUBLE,
    high         DOUBLE,
    low          DOUBLE,
    close        DOUBLE NOT NULL,
    volume       DOUBLE,
    source       VARCHAR NOT NULL,
    available_at TIMESTAMP NOT NULL,            -- bar end: the close is only known then
    PRIMARY KEY (symbol, ts)
);

CREATE TABLE ingest_runs (
    run_id      VARCHAR PRIMARY KEY,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,               -- running | ok | failed (some files failed) | aborted
    args        JSON,
    pid         INTEGER,
    n_ok        INTEGER DEFAULT 0,
    n_unchanged INTEGER DEFAULT 0,
    n_failed    INTEGER DEFAULT 0
);

CREATE TABLE ingest_files (
    run_id     VARCHAR NOT NULL,
    item       VARCHAR NOT NULL,                -- path or dataset record key
    outcome    VARCHAR NOT NULL,                -- added | replaced | unchanged | failed
    reason     VARCHAR,
    doc_id     BIGINT,
    n_chunks   INTEGER,
    n_bytes    BIGINT,
    seconds    DOUBLE,
    logged_at  TIMESTAMP NOT NULL
);
