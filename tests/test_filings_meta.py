"""Filing metadata on the real FinanceBench dev filings: company, ticker, form type and fiscal period from the
file name and the cover page (fincortex/ingest/filing_meta.py), and the question parser that maps every
dev question to its filing through that metadata (agents/analyst/scope.py)."""

from __future__ import annotations

import json

import pytest
from filings_support import mirror_financebench

from fincortex.agents.analyst.scope import FilingRef, parse_period, parse_scope
from fincortex.ingest.filing_meta import filing_meta, from_cover_page, from_file_name

FORMS = {"10k": "10-K", "10q": "10-Q", "8k": "8-K"}
# what the cover pages state (read by hand from the PDFs): trading symbol and period end
COVER = {"3M_2022_10K": ("MMM", "2022-12-31"), "AMERICANEXPRESS_2022_10K": ("AXP", "2022-12-31"),
         "JOHNSON_JOHNSON_2022_10K": ("JNJ", "2023-01-01"), "JPMORGAN_2021Q1_10Q": ("JPM", "2021-03-31"),
         "PEPSICO_2023_8K_dated-2023-05-30": ("PEP", "2023-05-26"), "ADOBE_2016_10K": (None, "2016-12-02")}


@pytest.fixture(scope="module")
def filings():
    import pypdfium2 as pdfium

    folder = mirror_financebench()
    info = {json.loads(line)["doc_name"]: json.loads(line)
            for line in (folder / "financebench_document_information_dev.jsonl").read_text().splitlines() if line.strip()}
    out = {}
    for path in sorted((folder / "pdfs").glob("*.pdf")):
        pdf = pdfium.PdfDocument(str(path))
        cover = "\n".join(pdf[i].get_textpage().get_text_bounded() for i in range(min(2, len(pdf))))
        pdf.close()
        out[path.stem] = (filing_meta(path, cover), info.get(path.stem), cover)
    return out


def test_every_dev_filing_gets_company_form_and_fiscal_year(filings):
    assert len(filings) == 24
    for name, (meta, info, _cover) in filings.items():
        assert meta is not None, name
        assert meta.form_type == FORMS[info["doc_type"]], name  # the cover's FORM line agrees with FinanceBench
        assert meta.fiscal_year == int(info["doc_period"]), name
        assert meta.sources["form_type"] == "cover page" and meta.sources["fiscal_year"] == "file name"


def test_cover_page_ticker_and_period_end(filings):
    for name, (ticker, period_end) in COVER.items():
        meta = filings[name][0]
        assert (meta.ticker, meta.period_end) == (ticker, period_end), name
    assert filings["AMERICANEXPRESS_2022_10K"][0].registrant == "American Express Company"
    assert filings["JPMORGAN_2021Q1_10Q"][0].fiscal_period == "2021Q1"


def test_file_name_alone_and_a_non_filing():
    assert from_file_name("PEPSICO_2023_8K_dated-2023-05-30.pdf") == {
        "company": "PEPSICO", "fiscal_year": 2023, "form_type": "8-K", "period_end": "2023-05-30"}
    assert from_file_name("notes.pdf") == {}
    assert filing_meta("notes.pdf", "Meeting notes, nothing else.") is None
    assert from_cover_page("FORM 10-K\nFor the fiscal year ended December 31, 2022")["period_end"] == "2022-12-31"


def test_every_dev_question_is_scoped_to_its_filing(filings):
    refs = [FilingRef(i, name, m.company, m.registrant, m.ticker, m.form_type, m.fiscal_year, m.fiscal_quarter,
                      m.period_end) for i, (name, (m, _, _)) in enumerate(sorted(filings.items()))]
    folder = mirror_financebench()
    questions = [json.loads(line) for line in (folder / "financebench_open_source_dev.jsonl").read_text().splitlines()
                 if line.strip()]
    wrong = [(q["doc_name"], parse_scope(q["question"], refs).doc_names) for q in questions
             if parse_scope(q["question"], refs).doc_names != (q["doc_name"],)]
    assert not wrong
    assert not parse_scope("What drove gross margin in 2022?", refs).active  # no company named: search all


def test_period_parsing():
    assert parse_period("Which JPM segment had the lowest revenue in 2021 Q1?") == ((2021,), 1, None)
    assert parse_period("VaR in the second fiscal quarter of 2023") == ((2023,), 2, None)
    assert parse_period("change from FY2015 to FY 2016 in the 10-K") == ((2015, 2016), None, "10-K")
