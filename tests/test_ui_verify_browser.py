"""The Ask page's "Verify a claim" mode in a real browser: `fincortex ui` on 127.0.0.1, Debian chromium
driven by playwright, over the tiny PDF corpus of the verification tests (tests/verify_support.py).

A true claim is supported with its citation (document, page, chunk); the same claim a year before the
filing was public is not enough evidence; an empty claim is refused with a message. The explanation is
left to the facts here (the phrasing checkbox is cleared) so the test does not wait on the chat model;
the phrasing itself is covered by tests/test_verify_claims.py and the Ask browser test loads SmolLM2.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from test_ui_browser import CHROMIUM, CHROMIUM_ARGS, _settle, _shot, _submit
from verify_support import make_world

from fincortex.config import PROJECT_ROOT
from fincortex.ui.testing import serve, ui_env

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ui_verify")
    client = make_world(folder)
    env = ui_env(client.settings.home, db=client.store.path)
    with serve(env) as url:
        yield url


@pytest.fixture(scope="module")
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        p = context.new_page()
        p.set_default_timeout(60_000)
        yield p
        browser.close()


def _verify(page, claim: str, as_of: str | None = None) -> None:
    page.get_by_label("Claim", exact=True).fill(claim)
    if as_of:  # the date input is three spin buttons (year, month, day): type into each
        for part, value in zip(("year", "month", "day"), as_of.split("-")):
            segment = page.get_by_role("spinbutton", name=re.compile(rf"^{part},"))
            segment.click()
            page.keyboard.type(value)
        page.keyboard.press("Escape")  # close the calendar popup, which would cover the button
    _submit(page, "Verify").click()


def test_verify_mode_in_browser(server, page):
    from playwright.sync_api import expect

    artifacts = Path(os.environ.get("FINCORTEX_ARTIFACTS_DIR") or PROJECT_ROOT / "tmp" / "artifacts" / "ui")
    artifacts.mkdir(parents=True, exist_ok=True)
    page.goto(f"{server}/")
    expect(page.get_by_role("heading", name="Ask")).to_be_visible()
    _settle(page)
    page.get_by_text("Verify a claim").click()
    expect(page.get_by_label("Claim", exact=True)).to_be_visible()
    page.get_by_text("Let the chat model phrase the explanation").click()  # facts only: no model load here

    _verify(page, "ACME's FY2022 net sales were $1,250 million.", "2023-06-01")
    expect(page.get_by_text("Verdict: supported")).to_be_visible(timeout=300_000)
    expect(page.get_by_text(re.compile(r"ACME_2022_10K · p\. 2 · chunk \d+"))).to_be_visible()
    _settle(page)
    _shot(page, artifacts / "verify.png")

    _verify(page, "ACME's FY2023 net sales were $1,500 million.")  # the FY2023 filing is not public by then
    expect(page.get_by_text("Verdict: not enough evidence")).to_be_visible(timeout=300_000)

    _verify(page, "   ")
    expect(page.get_by_text("Type a claim first", exact=False)).to_be_visible()
