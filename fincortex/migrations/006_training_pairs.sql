-- Training pairs for the embedder and reranker tuning (models/pairs.py). A pairs run is everything one
-- `fincortex tune` consumed: which sources, which seed, which embedder mined the hard negatives, which
-- TAT-QA contexts were held apart; the pairs themselves are stored so a run can be replayed exactly
-- (`fincortex tune embedder --pairs RUN_ID`) and audited for leaks between training and evaluation.
CREATE TABLE training_pair_runs (
    run_id        VARCHAR PRIMARY KEY,
    created_at    TIMESTAMP NOT NULL,
    seed          BIGINT NOT NULL,
    config        JSON NOT NULL,          -- PairsConfig: sources, caps, negatives per pair, margin, ...
    miner         JSON NOT NULL,          -- {"name", "key"} of the embedder that mined the negatives
    heldout       JSON NOT NULL,          -- {"split_id", "seed", "fraction", "tatqa_sha256", "eval_contexts"}
    summary       JSON NOT NULL           -- pairs per source and split, notes (what a source lacked)
);

CREATE TABLE training_pairs (
    run_id            VARCHAR NOT NULL,
    pair_id           INTEGER NOT NULL,
    source            VARCHAR NOT NULL,   -- tatqa | headlines | ectsum | synthetic
    split             VARCHAR NOT NULL,   -- train | eval (eval = the held-apart TAT-QA split)
    group_key         VARCHAR NOT NULL,   -- unit of the split: TAT-QA context uid, document source_key
    query             VARCHAR NOT NULL,
    positive          VARCHAR NOT NULL,   -- the text trained on (e.g. a headline's description)
    positive_ref      VARCHAR NOT NULL,   -- TAT-QA paragraph/table uid, or chunk:<chunk_id>
    positive_chunk_id BIGINT,             -- chunk in the run's database, when the positive is one
    negatives         JSON NOT NULL,      -- hard negative texts, hardest first
    negative_refs     JSON NOT NULL,      -- their uids / chunk:<id>
    PRIMARY KEY (run_id, pair_id)
);
