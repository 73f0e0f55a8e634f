"""A tiny corpus for the claim-verification tests: three real PDFs (written with matplotlib), ingested and
indexed through the SDK like any filing, so every chunk keeps its page."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# (file, ticker, published_at, page-2 lines): ACME's FY2022 and FY2023 10-Ks, BETA's FY2022 10-K
FILINGS = (
    ("ACME_2022_10K.pdf", "ACME", "2023-03-01", [
        "ACME Corp Consolidated Statement of Income",
        "(in millions) 2022 2021",
        "Net sales $ 1,250 $ 1,100",
        "Operating income 300 250",
        "Net income 200 180",
    ]),
    ("ACME_2023_10K.pdf", "ACME", "2024-03-01", [
        "ACME Corp Consolidated Statement of Income",
        "(in millions) 2023 2022",
        "Net sales $ 1,500 $ 1,250",
        "Operating income 420 300",
        "Net income 260 200",
    ]),
    ("BETA_2022_10K.pdf", "BETA", "2023-02-15", [
        "BETA Inc Consolidated Statement of Income",
        "(in millions) 2022 2021",
        "Net sales $ 9,000 $ 8,000",
        "Operating income 900 700",
        "Net income 600 500",
    ]),
)
BEFORE_2023_FILING = datetime(2023, 6, 1)  # ACME FY2022 public, ACME FY2023 not yet
AFTER_2023_FILING = datetime(2024, 6, 1)


def write_pdf(path: Path, lines: list[str]) -> None:
    """Two pages: a cover and the statement on page 2 (so a citation's page is checkable)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
        for page in (["Annual report on Form 10-K", lines[0].split(" Consolidated")[0]], lines):
            fig = plt.figure(figsize=(8.5, 11))
            for i, line in enumerate(page):
                fig.text(0.1, 0.9 - 0.04 * i, line, fontsize=11)
            pdf.savefig(fig)
            plt.close(fig)


def make_world(folder: Path):
    """A Client on a fresh database holding the three filings, indexed."""
    from fincortex.client import Client
    from fincortex.config import Settings

    pdfs = folder / "pdfs"
    pdfs.mkdir(parents=True, exist_ok=True)
    client = Client(settings=Settings(home=folder / "home"))
    for name, ticker, published, lines in FILINGS:
        write_pdf(pdfs / name, lines)
        client.ingest(pdfs / name, ticker=ticker, doc_type="10-K", published_at=published, update_index=False)
    client.build_index()
    return client
