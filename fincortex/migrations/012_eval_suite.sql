-- The evaluation suite (fincortex/suite): one run = one model configuration evaluated on the dev data.
-- A unit is one part (retrieval, financebench, forecasting, trading, lm) on one dataset or window; it is
-- written when it finishes, so a killed run resumes from its finished units, and a unit whose fingerprint
-- (part version, profile, the models it depends on) matches an earlier finished one is reused.
CREATE TABLE eval_suite_runs (
    run_id       VARCHAR PRIMARY KEY,
    created_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL,      -- running | ok | failed
    label        VARCHAR,
    profile      VARCHAR NOT NULL,
    config       JSON NOT NULL,         -- SuiteConfig.as_dict(): models with paths, hashes, registry lineage
    wall_s       DOUBLE,
    error        VARCHAR
);

CREATE TABLE eval_suite_units (
    run_id       VARCHAR NOT NULL,
    unit         VARCHAR NOT NULL,      -- e.g. retrieval:tatqa-heldout, trading:btc2018
    part         VARCHAR NOT NULL,
    fingerprint  VARCHAR NOT NULL,
    summary      JSON NOT NULL,         -- the unit's headline metrics and its baselines (same run)
    payload      JSON,                  -- what plots and paired tests need beyond items (curves, outcomes)
    wall_s       DOUBLE NOT NULL,
    reused_from  VARCHAR,               -- run_id whose finished unit had the same fingerprint
    finished_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, unit)
);

-- paired values: per query (retrieval), per question (financebench), per forecast row (forecasting),
-- per day (trading returns); `series` names what the value is (ndcg@10, p:default, ret:ensemble, ...)
CREATE TABLE eval_suite_items (
    run_id   VARCHAR NOT NULL,
    unit     VARCHAR NOT NULL,
    series   VARCHAR NOT NULL,
    item     VARCHAR NOT NULL,
    value    DOUBLE
);
