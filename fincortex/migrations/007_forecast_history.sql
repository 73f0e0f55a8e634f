-- Point-in-time history of ForecastBench questions and outcomes (agents/forecasting/history.py).
-- A question is known from its round's forecast due date (the set is published at 00:00 UTC that day);
-- an outcome from its resolution date plus a per-source publication lag (`available_at`). A forecast
-- due on D may use only rows with available_at < D (outcomes) / <= D (question sets of earlier rounds).
CREATE TABLE fb_questions (
    round_due      DATE NOT NULL,
    question_set   VARCHAR NOT NULL,
    id             VARCHAR NOT NULL,             -- combination questions: ids joined with '|'
    source         VARCHAR NOT NULL,
    question       VARCHAR NOT NULL,
    template       VARCHAR NOT NULL,             -- names, ids, dates, numbers masked (members/base_rate.py)
    freeze_datetime TIMESTAMP,
    freeze_value   DOUBLE,                       -- numeric freeze value (a market probability or a series value)
    raw            JSON NOT NULL,                -- the question as published (targets are rebuilt from it)
    available_at   TIMESTAMP NOT NULL,
    imported_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (round_due, source, id)
);

CREATE TABLE fb_outcomes (
    round_due       DATE NOT NULL,
    id              VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    resolution_date DATE NOT NULL,
    direction       VARCHAR NOT NULL,            -- '' or e.g. '1,-1' for a combination question
    resolved        BOOLEAN NOT NULL,
    resolved_to     DOUBLE NOT NULL,             -- 0/1, or the market value on resolution_date when unresolved
    lag_days        INTEGER NOT NULL,
    available_at    TIMESTAMP NOT NULL,          -- resolution_date + lag_days: when the outcome was public
    file            VARCHAR NOT NULL,
    imported_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (round_due, source, id, resolution_date, direction)
);

-- Member forecasts of every target of a round, made as of the round's due date (walk-forward input).
CREATE TABLE fb_member_forecasts (
    round_due       DATE NOT NULL,
    member          VARCHAR NOT NULL,
    member_key      VARCHAR NOT NULL,            -- identity of the member's settings / model weights
    id              VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    resolution_date VARCHAR NOT NULL,            -- '' for market targets
    direction       VARCHAR NOT NULL,
    probability     DOUBLE,                      -- NULL = the member abstained
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (round_due, member, member_key, source, id, resolution_date, direction)
);

-- Each stacked aggregation fitted for a due date: which outcomes it learned from (audited).
CREATE TABLE fb_stack_fits (
    fit_id            VARCHAR PRIMARY KEY,
    as_of             TIMESTAMP NOT NULL,
    family            VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL,          -- stack | best_single | prior
    n_train           INTEGER NOT NULL,
    max_available_at  TIMESTAMP,
    weights           JSON NOT NULL,
    train_keys        JSON NOT NULL,             -- [[round_due, source, id, resolution_date, direction], ...]
    created_at        TIMESTAMP NOT NULL
);

-- Combination questions carry their direction in stored forecasts too.
ALTER TABLE forecasts ADD COLUMN direction VARCHAR;
