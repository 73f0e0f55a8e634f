"""The dashboard in a real browser: `fincortex ui` on 127.0.0.1, Debian chromium driven by playwright.

Builds its own small real database through the SDK (a few ECTSum calls, BTC-USD bars), then performs
a search (and opens the hit's document), an ask, and a short backtest, asserting on what is visible.
Screenshots go to $FINCORTEX_ARTIFACTS_DIR (default: <repo>/tmp/artifacts/ui; not committed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from fincortex.client import Client
from fincortex.config import PROJECT_ROOT
from fincortex.config import Settings
from fincortex.ui.testing import build_demo_db, default_mirror, serve, share_default_chat_model, ui_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                       "(apt-get install -y chromium; .ci/run does it)"),
]


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("FINCORTEX_ARTIFACTS_DIR") or PROJECT_ROOT / "tmp" / "artifacts" / "ui")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui_browser")
    env = ui_env(home)
    mp = pytest.MonkeyPatch()
    for name, value in env.items():
        mp.setenv(name, value)
    client = Client()
    build_demo_db(client, default_mirror(), n_transcripts=3, news=False, prices=True)
    client.build_index()  # so the first search in the browser does not embed everything
    share_default_chat_model(Settings.from_env())  # SmolLM2, converted once for the checkout
    try:
        with serve(env) as url:
            yield url
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, height: int = 1000, timeout_ms: int = 60_000):
    """A page in a fresh browser context (yielded; the context closes after): the page fixtures' one body."""
    context = browser.new_context(viewport={"width": 1440, "height": height})
    p = context.new_page()
    p.set_default_timeout(timeout_ms)
    yield p
    context.close()


@pytest.fixture()
def page(browser):
    yield from open_page(browser)


def _settle(page) -> None:
    """Wait until Streamlit has finished the current script run (its status widget disappears)."""
    page.wait_for_load_state("networkidle")
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=180_000)


def _shot(page, path: Path) -> None:
    """Screenshot the whole page: Streamlit scrolls inside its main container, so grow the viewport to it."""
    height = page.evaluate(  # the tallest scroll container (the chat page scrolls an inner block)
        "() => Math.max(...Array.from(document.querySelectorAll('*')).map(e => e.scrollHeight))")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height + 40, size["height"]), 8000))})
    page.wait_for_timeout(800)  # plotly re-lays out to the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def _submit(page, label: str):
    """A form's submit button (data-frame toolbars also have buttons named e.g. 'Search')."""
    return page.locator('[data-testid="stFormSubmitButton"] button', has_text=label)


def test_search_in_browser(server, page, artifacts):
    from playwright.sync_api import expect

    page.goto(f"{server}/search")
    expect(page.get_by_role("heading", name="Search")).to_be_visible()
    page.get_by_label("Query").fill("dividend and share repurchases")
    page.get_by_label("Results (k)").fill("5")
    _submit(page, "Search").click()
    first = page.get_by_text(re.compile(r"^#1 · "))
    expect(first).to_be_visible(timeout=180_000)
    expect(page.get_by_text(re.compile(r"^5 hit\(s\) · mode hybrid"))).to_be_visible()
    _settle(page)
    _shot(page, artifacts / "search.png")

    page.get_by_role("button", name="Open document").first.click()
    expect(page.get_by_text("(the hit)")).to_be_visible(timeout=60_000)
    _settle(page)
    page.get_by_text("(the hit)").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "search_document.png"), full_page=False)

    # bad input: an empty query is explained, the form stays usable
    page.get_by_label("Query").fill("")
    _submit(page, "Search").click()
    expect(page.get_by_text("Type a query first.")).to_be_visible()


def test_short_backtest_in_browser(server, page, artifacts):
    from playwright.sync_api import expect

    page.goto(f"{server}/trading")
    expect(page.get_by_text(re.compile(r"BTC-USD: 4,154 daily bars"))).to_be_visible()
    _submit(page, "Run backtest").click()
    expect(page.get_by_text("Leakage audit passed", exact=False)).to_be_visible(timeout=300_000)
    expect(page.get_by_text("buy-and-hold return")).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    _settle(page)
    _shot(page, artifacts / "trading.png")


def test_ask_in_browser(server, page, artifacts):
    """The real default chat model (SmolLM2-135M) answers; sources are numbered and expand."""
    from playwright.sync_api import expect

    page.goto(f"{server}/")  # Ask is the default page: Streamlit serves it at the root
    expect(page.get_by_role("heading", name="Ask")).to_be_visible()
    _settle(page)
    first_option = page.get_by_label("Extra search queries written by the model")
    for _ in range(3):  # keep the CPU answer short: no extra queries, 3 passages, 32 tokens
        if first_option.is_visible():
            break
        page.get_by_text("Agent options").click()
        page.wait_for_timeout(1000)
    expect(first_option).to_be_visible()
    for label, value in (("Extra search queries written by the model", "0"), ("Passages given to the model", "3"),
                         ("Answer length (tokens)", "32")):
        page.get_by_label(label).fill(value)
        page.get_by_label(label).press("Tab")
        _settle(page)
    _settle(page)
    box = page.get_by_placeholder(re.compile("Ask about"))
    box.fill("What did management say about dividends?")
    box.press("Enter")
    expect(page.get_by_text(re.compile(r"^Thinking"))).to_be_visible(timeout=60_000)
    sources = page.get_by_text(re.compile(r"^Sources \(\d+ cited of \d+ passages read\)"))
    expect(sources).to_be_visible(timeout=900_000)  # loads SmolLM2 on first use; seconds on an idle 2-core box
    assistant = page.locator('[data-testid="stChatMessage"]').nth(1)
    expect(assistant).to_be_visible()
    first_source = page.get_by_text(re.compile(r"^\[1\] ")).first
    expect(first_source).to_be_visible()
    expect(first_source).to_contain_text("available 20")
    first_source.click()
    expander = page.locator('[data-testid="stExpander"]').filter(has=page.get_by_text(re.compile(r"^\[1\] ")))
    expect(expander.get_by_text(re.compile(r"^chunk \d+ · document \d+"))).to_be_visible()
    _settle(page)
    _shot(page, artifacts / "ask.png")

    # bad input: an as-of date in the future cannot be picked (bounded picker); an empty question is refused
    box.fill("   ")
    box.press("Enter")
    expect(page.get_by_text("Type a question first", exact=False)).to_be_visible()
