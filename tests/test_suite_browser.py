"""The Evaluations page and the suite's HTML report in a real browser (Debian chromium via playwright):
two stored runs (synthetic per-item values with a planted improvement, written by the real storage code),
the page's comparison with its verdicts and plots, and the report opened from disk, both screenshotted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fincortex.ui.testing import serve, ui_env
from suite_support import store_run
from test_ui_browser import artifacts, browser, open_page, pytestmark  # noqa: F401  (chromium marks and fixtures)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from fincortex.store import Store

    home = tmp_path_factory.mktemp("suite_browser")
    env = ui_env(home)
    store = Store(Path(env["FINCORTEX_DB"]))
    store_run(store, "base-embedder")
    store_run(store, "tuned-embedder", lift=0.05, sharpen=0.3, edge=0.004)
    with serve(env) as url:
        yield url, store


@pytest.fixture(scope="module")
def page(browser):
    yield from open_page(browser, height=1400, timeout_ms=90_000)


def test_evaluations_page_compares_two_runs(served, page, artifacts):
    from playwright.sync_api import expect

    url, _ = served
    page.goto(f"{url}/evaluations")
    expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()
    expect(page.get_by_text("Verdict per area (B against A)")).to_be_visible(timeout=120_000)
    expect(page.get_by_text("retrieval: better")).to_be_visible()
    expect(page.get_by_text("trading: better")).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=120_000)
    page.screenshot(path=str(artifacts / "evaluations.png"), full_page=True)


def test_html_report_opens_in_the_browser(served, page, artifacts, tmp_path):
    from playwright.sync_api import expect

    from fincortex.suite.compare import compare_runs
    from fincortex.suite.report import write_html

    _, store = served
    out = write_html(compare_runs(store, "base-embedder", "tuned-embedder"), tmp_path / "report.html")
    page.goto(out.as_uri())
    expect(page.get_by_role("heading", name="Suite comparison")).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(3)  # bars, reliability diagram, equity + drawdown
    expect(page.locator(".verdict").first).to_have_text("better")
    page.screenshot(path=str(artifacts / "suite_report.png"), full_page=True)


@pytest.mark.skipif(not os.environ.get("FINCORTEX_SUITE_REPORT"),
                    reason="set FINCORTEX_SUITE_REPORT to a report written by `fincortex eval compare --html`")
def test_a_real_report_opens_in_the_browser(page, artifacts):
    """A report from real runs (docs/evaluation.md "Measured"): every area has a verdict, every paired row
    is in the table, every plot renders, and nothing it needs comes from the network."""
    from playwright.sync_api import expect

    report = Path(os.environ["FINCORTEX_SUITE_REPORT"]).resolve()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    expect(page.get_by_role("heading", name="Suite comparison")).to_be_visible()
    areas = page.locator(".verdict").all_inner_texts()
    assert set(areas) <= {"better", "worse", "mixed", "within noise", "no interval", "not evaluated"} and len(areas) >= 5
    assert page.locator("table").first.locator("tr").count() > len(areas)  # header + one row per paired metric
    expect(page.locator(".js-plotly-plot")).to_have_count(page.locator(".plotly-graph-div").count())
    assert page.locator(".js-plotly-plot").count() >= 5  # FinanceBench bars, 2 reliability diagrams, retrieval bars, equity
    assert all(u.startswith("file:") or u.startswith("data:") for u in requests), requests
    page.screenshot(path=str(artifacts / f"suite_report_{report.stem}.png"), full_page=True)
