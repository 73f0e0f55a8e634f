"""Shared helpers for tests/test_filings_*.py: real FinanceBench dev filings from the data mirror, sliced to
the few pages a test needs (so a test parses two pages, not 250), and a scripted chat model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def mirror_financebench() -> Path:
    """<FINCORTEX_DATA_MIRROR>/financebench, or skip the test saying why."""
    root = os.environ.get("FINCORTEX_DATA_MIRROR")
    if not root:
        pytest.skip("FINCORTEX_DATA_MIRROR is not set: the real FinanceBench filings are not available")
    folder = Path(root) / "financebench"
    if not (folder / "pdfs").is_dir():
        pytest.skip(f"{folder}/pdfs is absent from the data mirror")
    return folder


def slice_pdf(source: Path, pages: list[int], target: Path) -> Path:
    """A new PDF of `pages` (1-based) of `source`, saved as `target` (keep the FinanceBench file name)."""
    import pypdfium2 as pdfium

    src = pdfium.PdfDocument(str(source))
    out = pdfium.PdfDocument.new()
    out.import_pages(src, [p - 1 for p in pages])
    target.parent.mkdir(parents=True, exist_ok=True)
    out.save(str(target))
    out.close()
    src.close()
    return target


class Reply:
    def __init__(self, content: str) -> None:
        self.content = content


class ScriptedChat:
    """A chat model that answers with `reply(messages)` and records every prompt it was given."""

    model_name = "scripted"

    def __init__(self, reply=None) -> None:
        self.prompts: list[list] = []
        self.reply = reply or (lambda messages: "The passages do not contain the answer.")

    def invoke(self, messages, **_params):
        self.prompts.append(list(messages))
        return Reply(self.reply(messages))


def prompt_text(prompt) -> str:
    parts = []
    for m in prompt:
        parts.append(m[1] if isinstance(m, tuple) else str(getattr(m, "content", m)))
    return "\n".join(parts)


def sliced_3m_store(folder: Path, index: bool = True, pages: tuple[int, ...] = (1, 48, 50)):
    """3M's FY2022 10-K cut to its cover (page 1), income statement (PDF page 48) and balance sheet (50)
    (or the given PDF pages: 52 is the cash-flow statement), ingested into a fresh store (with its index
    built when `index`): (settings, store, pdf path)."""
    from fincortex.config import Settings
    from fincortex.ingest.parsers import FileOptions
    from fincortex.ingest.service import ingest_paths
    from fincortex.retrieval import service
    from fincortex.store import Store

    source = mirror_financebench() / "pdfs" / "3M_2022_10K.pdf"
    pdf = slice_pdf(source, list(pages), folder / "pdfs" / "3M_2022_10K.pdf")
    settings = Settings(home=folder / "home")
    store = Store(settings.db_path)
    store.ensure_schema()
    report = ingest_paths(settings, store, [pdf], FileOptions())
    assert report.count("added") == 1, report.summary()
    if index:
        service.build_index(store, settings)
    return settings, store, pdf
