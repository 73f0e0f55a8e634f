"""The bad-input corpus (tests/bad_inputs.py): every entry gets the expected outcome with a reason."""

from __future__ import annotations

from bad_inputs import build, judge


def test_every_bad_input_is_reported(client, tmp_path, mirror):
    expect = build(tmp_path / "corpus", mirror, huge_mb=0)  # the 40 MB streamed file runs in the benchmark
    report = client.ingest([tmp_path / "corpus"])
    verdicts = judge(report.outcomes, expect)
    missed = [v for v in verdicts if not v["reported"]]
    assert missed == [], missed
    assert len(verdicts) >= 30
    with client.store.read() as conn:  # nothing from a rejected file landed
        uris = {r[0] for r in conn.execute("SELECT DISTINCT uri FROM documents").fetchall()}
    assert {u.rsplit("/", 1)[-1] for u in uris} == {v["entry"] for v in verdicts if v["expected"] == "added"}
