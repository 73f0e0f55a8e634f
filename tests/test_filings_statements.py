"""Statements as tables: a real filing's income statement and balance sheet read by pdfplumber into
statement_rows at ingest, read back with their page and period, searchable as table chunks and readable
by the agents' SQL tool."""

from __future__ import annotations

import pytest
from filings_support import sliced_3m_store

from fincortex.agents.analyst.statements import find_line_item, read_statement_rows
from fincortex.agents.common.sql_tool import ReadOnlySQL
from fincortex.ingest.statements import candidate_pages, page_scale, parse_figure, statement_kind


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return sliced_3m_store(tmp_path_factory.mktemp("fin3m"), index=False)  # no search here: no index


def test_statement_round_trip_line_item_period_and_page(world):
    _settings, store, _pdf = world
    with store.read() as conn:
        (doc_id,) = conn.execute("SELECT doc_id FROM documents").fetchone()
    rows = read_statement_rows(store, [doc_id])
    net_sales = find_line_item(rows, [r"^net sales$"], "2022", ("income",))
    assert (net_sales.value, net_sales.page, net_sales.scale, net_sales.doc_name) == (34229.0, 2, 1e6, "3M_2022_10K")
    assert find_line_item(rows, [r"^net sales$"], "2020", ("income",)).value == 32184.0
    assets = find_line_item(rows, [r"^total assets$"], "2021", ("balance",))
    assert (assets.value, assets.page) == (47072.0, 3)
    gain = find_line_item(rows, [r"^gain on business divestitures"], "2022", ("income",))
    assert gain.value == -2724.0  # printed in parentheses


def test_tables_are_searchable_chunks_on_their_page(world):
    _settings, store, _pdf = world
    with store.read() as conn:
        tables = conn.execute("SELECT page_start, text FROM chunks WHERE is_table ORDER BY page_start").fetchall()
        meta = conn.execute("SELECT ticker, meta FROM documents").fetchone()
    assert any(page == 2 and "Net sales | 2022: 34,229" in text for page, text in tables)
    assert meta[0] == "MMM" and '"form_type": "10-K"' in meta[1]


def test_sql_tool_reads_statement_rows(world):
    _settings, store, _pdf = world
    sql = ReadOnlySQL(store)
    result = sql("SELECT line_item, period, value, page FROM statement_rows WHERE statement = 'balance' "
                 "AND line_item = 'Total current liabilities' ORDER BY period")
    assert result["rows"] == [["Total current liabilities", "2021", 9035.0, 3], ["Total current liabilities", "2022", 9523.0, 3]]


def test_page_selection_and_figures():
    statement = "3M Company\nConsolidated Statement of Income\n" + "\n".join(f"Item {i} 1,{i:03d} 2,{i:03d}" for i in range(9))
    assert statement_kind(statement) == ("income", "Statement of Income")
    assert candidate_pages([statement, "Risk factors. Prose only."]) == [(1, "income", "Statement of Income")]
    assert page_scale("(Millions, except per share amounts)") == (1e6, "USD millions")
    assert [parse_figure(t) for t in ("(2,724)", "34,229", "(389", "—", "12.5%", "abc")] == [-2724, 34229, -389, 0, 12.5, None]


def _words(line_top: float, texts: list[tuple[float, str]]) -> list[dict]:
    return [{"text": t, "x0": x, "x1": x + 6 * len(t), "top": line_top, "bottom": line_top + 8} for x, t in texts]


def test_the_header_is_the_line_of_years_not_a_title_naming_its_periods():
    from fincortex.ingest.statements import header_years

    title = _words(50, [(200, "ended"), (240, "December"), (290, "25,"), (310, "2021"), (340, "and"), (360, "December"),
                        (410, "26,"), (430, "2020")])
    columns = _words(70, [(300, "2022"), (380, "2021"), (460, "2020")])
    bottom, headers = header_years(title + columns, 150)
    assert [year for _, year in headers] == ["2022", "2021", "2020"] and bottom == 78
    dated = _words(60, [(300, "January"), (350, "1,"), (365, "2023"), (420, "January"), (470, "2,"), (485, "2022")])
    assert [year for _, year in header_years(dated, 150)[1]] == ["2023", "2022"]
