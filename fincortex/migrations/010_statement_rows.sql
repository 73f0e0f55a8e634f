-- Financial statements and other numeric tables read out of PDFs (fincortex/ingest/statements.py):
-- one row per figure, with the page it is printed on, so an answer built from it cites that page.
-- Written with the document's chunks at ingest and deleted with them when the file is re-ingested;
-- available_at is the document's, so point-in-time readers filter it like chunks.
CREATE TABLE statement_rows (
    doc_id       BIGINT NOT NULL,
    page         INTEGER NOT NULL,             -- 1-based PDF page
    table_index  INTEGER NOT NULL,             -- the table's number on its page, from 0
    statement    VARCHAR NOT NULL,             -- income | balance | cashflow | other
    title        VARCHAR,                      -- the statement title found on the page
    row_index    INTEGER NOT NULL,
    line_item    VARCHAR NOT NULL,
    section      VARCHAR,                      -- the heading row above the line item
    period       VARCHAR,                      -- the column's header year; NULL when the table has none
    column_index INTEGER NOT NULL,
    value        DOUBLE NOT NULL,              -- as printed (parentheses negative, dashes 0)
    raw          VARCHAR NOT NULL,             -- the printed text of the figure
    scale        DOUBLE NOT NULL,              -- 1e6 for '(in millions)'; value * scale is in units
    unit         VARCHAR NOT NULL,             -- 'USD millions', 'percent', ...
    available_at TIMESTAMP NOT NULL
);
CREATE INDEX statement_rows_doc ON statement_rows (doc_id, statement, period);
