-- Analyst and forecasting agents (agents/analyst_graph.py, agents/forecaster_graph.py). Every run keeps
-- the tool calls it made and the chunk ids each call returned, with the as_of it was bound to, so a
-- leakage audit (agents/agent_runs.py) can re-check against the chunks table that nothing it saw
-- became public after its point in time.
CREATE TABLE agent_runs (
    run_id       VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,            -- analyst | forecaster
    thread_id    VARCHAR,                     -- analyst conversation (langgraph checkpointer thread)
    created_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL,            -- running | ok | failed
    as_of        TIMESTAMP NOT NULL,          -- the run's point in time: no tool may see past it
    question     VARCHAR NOT NULL,
    model        VARCHAR,
    config       JSON,
    result       JSON,
    error        VARCHAR,
    wall_s       DOUBLE
);

CREATE TABLE agent_tool_calls (
    run_id       VARCHAR NOT NULL,
    seq          INTEGER NOT NULL,            -- order within the run
    tool         VARCHAR NOT NULL,            -- search | sql | calculator
    args         JSON,
    as_of        TIMESTAMP,                   -- search: the bound the call carried
    ok           BOOLEAN NOT NULL,
    error        VARCHAR,
    summary      VARCHAR,                     -- short description of the output
    n_chunks     INTEGER NOT NULL DEFAULT 0,
    started_at   TIMESTAMP NOT NULL,
    ms           DOUBLE,
    PRIMARY KEY (run_id, seq)
);

-- One row per chunk a tool call returned (as the agent was told; the audit re-reads chunks).
CREATE TABLE agent_tool_chunks (
    run_id       VARCHAR NOT NULL,
    seq          INTEGER NOT NULL,
    chunk_id     BIGINT NOT NULL,
    rank         INTEGER NOT NULL,
    score        DOUBLE,
    available_at TIMESTAMP NOT NULL
);

-- One evaluation of `fincortex forecast` over a question/resolution set.
CREATE TABLE forecast_evals (
    eval_id          VARCHAR PRIMARY KEY,
    created_at       TIMESTAMP NOT NULL,
    finished_at      TIMESTAMP,
    status           VARCHAR NOT NULL,        -- running | ok | failed
    questions_file   VARCHAR NOT NULL,
    resolutions_file VARCHAR NOT NULL,
    forecast_date    TIMESTAMP NOT NULL,      -- the round's forecast due date = every agent's as_of
    n_targets        INTEGER,
    config           JSON,
    metrics          JSON,                    -- {method: {overall: {...}, by_source: {...}}}
    wall_s           DOUBLE,
    error            VARCHAR
);

-- One probability per (evaluation, method, question target). agent_key identifies the forecasting
-- configuration (models + prompts + retrieval on/off) so calibration only learns from its own past.
CREATE TABLE forecasts (
    eval_id          VARCHAR NOT NULL,
    method           VARCHAR NOT NULL,        -- agent | agent_no_retrieval | market | always_0.5
    question_id      VARCHAR NOT NULL,        -- combination questions: ids joined with '|'
    source           VARCHAR NOT NULL,
    resolution_date  DATE,                    -- when the outcome became known
    forecast_date    TIMESTAMP NOT NULL,
    agent_key        VARCHAR,
    run_id           VARCHAR,                 -- agent_runs row of the forecaster run
    raw_probability  DOUBLE NOT NULL,         -- before calibration
    probability      DOUBLE NOT NULL,         -- what is scored
    calibration_id   VARCHAR,
    market_value     DOUBLE,                  -- freeze-time market/community probability, when present
    outcome          DOUBLE,                  -- resolved_to (0 or 1)
    rationale        VARCHAR,
    n_chunks         INTEGER,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX forecasts_agent ON forecasts (agent_key, resolution_date);

-- Platt / isotonic calibration maps, fitted only on forecasts whose outcome was known before
-- `fitted_for` (the forecast date they are applied at).
CREATE TABLE calibration_models (
    calibration_id      VARCHAR PRIMARY KEY,
    agent_key           VARCHAR NOT NULL,
    method              VARCHAR NOT NULL,     -- platt | isotonic
    fitted_for          TIMESTAMP NOT NULL,
    n_train             INTEGER NOT NULL,
    n_positive          INTEGER NOT NULL,
    max_resolution_date DATE NOT NULL,        -- latest outcome date used: always < fitted_for
    params              JSON NOT NULL,
    train_keys          JSON,                 -- [(eval_id, question_id, source, resolution_date)] for audits
    created_at          TIMESTAMP NOT NULL
);
