-- Trading simulation and backtests (agents/backtest.py). One run = one simulation over one symbol and
-- window in which several agents trade the same market, each with its own portfolio. Every decision
-- keeps its evidence (price bars, news chunks, memory items it saw, each with its available_at) so
-- that agents/leakage.py can re-check, against the source tables, that nothing came from the future.
CREATE TABLE backtest_runs (
    run_id          VARCHAR PRIMARY KEY,
    created_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP,
    status          VARCHAR NOT NULL,         -- running | ok | leakage | failed
    symbol          VARCHAR NOT NULL,
    start_date      DATE NOT NULL,
    end_date        DATE NOT NULL,
    agents          VARCHAR[] NOT NULL,
    seed            INTEGER NOT NULL,
    fees_bps        DOUBLE NOT NULL,
    slippage_bps    DOUBLE NOT NULL,
    initial_cash    DOUBLE NOT NULL,
    periods_per_year INTEGER NOT NULL,
    config          JSON,                     -- full BacktestConfig
    metrics         JSON,                     -- {agent: {metric: value}} incl. Sharpe CI and excess vs buy-and-hold
    leakage         JSON,                     -- the audit report (counts, violations)
    wall_s          DOUBLE,
    error           VARCHAR
);

CREATE TABLE backtest_orders (
    run_id        VARCHAR NOT NULL,
    agent         VARCHAR NOT NULL,
    decision_ts   TIMESTAMP NOT NULL,         -- when the order was decided
    kind          VARCHAR NOT NULL,           -- target_weight | quantity
    value         DOUBLE NOT NULL,
    status        VARCHAR NOT NULL,           -- filled | skipped (below minimum trade / nothing to do)
    note          VARCHAR
);

CREATE TABLE backtest_fills (
    run_id        VARCHAR NOT NULL,
    agent         VARCHAR NOT NULL,
    ts            TIMESTAMP NOT NULL,         -- the bar whose open filled the order
    side          VARCHAR NOT NULL,           -- buy | sell
    quantity      DOUBLE NOT NULL,            -- always positive
    ref_price     DOUBLE NOT NULL,            -- bar open before slippage
    fill_price    DOUBLE NOT NULL,            -- after slippage
    fee           DOUBLE NOT NULL,
    notional      DOUBLE NOT NULL,            -- quantity * fill_price
    realized_pnl  DOUBLE                      -- on the part of the fill that reduced a position
);

CREATE TABLE backtest_equity (
    run_id        VARCHAR NOT NULL,
    agent         VARCHAR NOT NULL,
    ts            TIMESTAMP NOT NULL,         -- bar start; marked at that bar's close
    close         DOUBLE NOT NULL,
    cash          DOUBLE NOT NULL,
    quantity      DOUBLE NOT NULL,
    equity        DOUBLE NOT NULL,
    drawdown      DOUBLE NOT NULL,            -- 1 - equity / running peak
    PRIMARY KEY (run_id, agent, ts)
);

CREATE TABLE agent_decisions (
    run_id        VARCHAR NOT NULL,
    agent         VARCHAR NOT NULL,
    decision_ts   TIMESTAMP NOT NULL,
    action        VARCHAR NOT NULL,           -- BUY | SELL | HOLD (baselines: the sign of the weight change)
    target_weight DOUBLE,                     -- NULL when the agent holds
    rationale     VARCHAR,
    scores        JSON,                       -- e.g. the trader's choice log-probs, risk interventions
    n_prices_seen INTEGER NOT NULL,
    n_chunks_seen INTEGER NOT NULL,
    n_memory_seen INTEGER NOT NULL,
    PRIMARY KEY (run_id, agent, decision_ts)
);

-- One row per price view handed to an agent: the bars it could read lie in [first_ts, last_ts].
CREATE TABLE decision_price_evidence (
    run_id            VARCHAR NOT NULL,
    agent             VARCHAR NOT NULL,
    decision_ts       TIMESTAMP NOT NULL,
    symbol            VARCHAR NOT NULL,
    n_bars            INTEGER NOT NULL,
    first_ts          TIMESTAMP,
    last_ts           TIMESTAMP,
    max_available_at  TIMESTAMP
);

-- One row per news chunk an agent read.
CREATE TABLE decision_chunk_evidence (
    run_id        VARCHAR NOT NULL,
    agent         VARCHAR NOT NULL,
    decision_ts   TIMESTAMP NOT NULL,
    chunk_id      BIGINT NOT NULL,
    available_at  TIMESTAMP NOT NULL,          -- as the agent was told; the audit re-reads chunks
    score         DOUBLE
);

-- One row per memory item recalled into a decision.
CREATE TABLE decision_memory_evidence (
    run_id        VARCHAR NOT NULL,
    agent         VARCHAR NOT NULL,
    decision_ts   TIMESTAMP NOT NULL,
    item_id       VARCHAR NOT NULL,
    available_at  TIMESTAMP NOT NULL
);

-- Layered memory of the LLM trading agent (agents/memory.py): what it wrote, when it became usable.
CREATE TABLE memory_items (
    run_id        VARCHAR NOT NULL,
    agent         VARCHAR NOT NULL,
    item_id       VARCHAR NOT NULL,
    layer         VARCHAR NOT NULL,           -- short | long | reflection
    created_ts    TIMESTAMP NOT NULL,
    available_at  TIMESTAMP NOT NULL,          -- the decision time after which it may be recalled
    text          VARCHAR NOT NULL,
    importance    DOUBLE NOT NULL,
    pnl           DOUBLE,
    features      DOUBLE[],
    n_recalls     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, agent, item_id)
);
