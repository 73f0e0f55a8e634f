"""Every ingested chunk has available_at, derived by each source's documented rule."""

from __future__ import annotations

from datetime import datetime

from fincortex.datasets.connectors.ectsum import available_at as ectsum_available_at


def test_every_chunk_has_available_at_by_source_rule(client, tmp_path):
    for spec in ("ectsum:val", "headlines", "filings", "tatqa"):
        assert client.ingest(dataset=spec).ok, spec
    user_file = tmp_path / "memo.txt"
    user_file.write_text("The board approved a buyback.")
    dated_file = tmp_path / "dated.txt"
    dated_file.write_text("Dividend raised 10%.")
    client.ingest([user_file])
    client.ingest([dated_file], published_at="2020-03-02")

    with client.store.read() as conn:
        missing = conn.execute("SELECT count(*) FROM chunks WHERE available_at IS NULL").fetchone()[0]
        mismatch = conn.execute(
            "SELECT count(*) FROM chunks c JOIN documents d USING (doc_id) WHERE c.available_at != d.available_at"
        ).fetchone()[0]
        rules = dict(conn.execute("SELECT source, any_value(available_at_rule) FROM documents GROUP BY source").fetchall())
        one = lambda sql, p=(): conn.execute(sql, list(p)).fetchone()  # noqa: E731
        aap = one("SELECT available_at FROM documents WHERE source_key LIKE 'ectsum:val:%' ORDER BY source_key LIMIT 1")
        cnbc = one("SELECT title, available_at FROM documents WHERE source = 'cnbc' AND title LIKE 'Jim Cramer: A better way%'")
        reuters = one("SELECT available_at, available_at_rule FROM documents WHERE source = 'reuters' LIMIT 1")
        filing = one("SELECT available_at FROM documents WHERE source_key = 'filings:NIKE_2017_10K'")
        pages = one("SELECT min(page_start), max(page_end) FROM chunks c JOIN documents d USING (doc_id) WHERE d.source = 'financebench'")
        memo = one("SELECT available_at, ingested_at, available_at_rule FROM documents WHERE title = 'memo'")
        dated = one("SELECT available_at FROM documents WHERE title = 'dated'")
    assert missing == 0 and mismatch == 0
    assert set(rules) >= {"ectsum", "cnbc", "reuters", "guardian", "financebench", "tatqa", "file"}
    assert aap[0] >= datetime(2019, 1, 1)
    assert ectsum_available_at(2021, 1) == datetime(2021, 7, 2, 5)  # Mar 31 + 92 days, end of day ET
    assert cnbc[1] == datetime(2020, 7, 17, 23, 51)  # 7:51 PM ET (EDT) on 17 July 2020
    assert reuters[1].startswith("date only") and reuters[0].hour == 5
    assert filing[0] == datetime(2018, 5, 1, 5)  # fiscal 2017 10-K: end of 2018-04-30 ET
    assert pages[0] == 1 and pages[1] > 50  # every filing chunk keeps its PDF pages
    assert memo[2] == "no date given: ingestion time" and abs((memo[0] - memo[1]).total_seconds()) < 600
    assert dated[0] == datetime(2020, 3, 3, 5)
