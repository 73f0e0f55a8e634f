"""Helpers to drive the dashboard from tests: AppTest sessions, job waits, a real server on a free port.

Shipped with the package (like streamlit.testing) so that the AppTest suites and the browser test
share one way of starting the app against a given database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

APP_PATH = Path(str(resources.files("fincortex.ui") / "app.py"))


def app_test(timeout_s: float = 60.0):
    """An AppTest session on the real entry script (reads FINCORTEX_* from the environment)."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP_PATH), default_timeout=timeout_s)


def open_page(at: Any, page: str) -> Any:
    """Run the app once (so st.navigation registers its pages), then switch to views/<page>.py."""
    at.run()
    at.switch_page(f"views/{page}.py")
    return at.run()


def button(at: Any, label: str) -> Any:
    """The button (or form submit button) whose label is `label`."""
    matches = [b for b in at.button if b.label == label]
    if not matches:
        raise LookupError(f"no button {label!r}; buttons: {[b.label for b in at.button]}")
    return matches[0]


def texts(at: Any, kind: str) -> list[str]:
    """All values of one element kind (error, warning, info, success, markdown, caption...)."""
    return [str(e.value) for e in getattr(at, kind)]


def wait_for_job(at: Any, kind: str, timeout_s: float = 300.0) -> Any:
    """Wait for the session's current job of `kind` to finish, then re-run the page to show it."""
    from fincortex.ui.jobs import JobRunner
    from fincortex.config import Settings

    job_id = at.session_state[f"job_{kind}"]
    runner = JobRunner(Settings.from_env().cache_dir / "ui-jobs")
    job = runner.wait(job_id, timeout_s=timeout_s)
    at.run()
    return job


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(env: dict[str, str], port: int | None = None, timeout_s: float = 90.0) -> Iterator[str]:
    """Start `fincortex ui` on 127.0.0.1:<free port>; yield its URL; stop it (by its own pid)."""
    port = port or free_port()
    log_path = Path(env.get("FINCORTEX_HOME", ".")) / f"ui-server-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", "from fincortex.cli import main; main()", "ui", "--port", str(port), "--host", "127.0.0.1"],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dashboard exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dashboard not healthy after {timeout_s:.0f}s: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is still in it after `grace_s`."""
    import signal

    def alive() -> bool:
        try:
            os.killpg(proc.pid, 0)
            return True
        except ProcessLookupError:
            return False

    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace_s
    while alive() and time.monotonic() < deadline:
        proc.poll()  # reap the leader as soon as it exits
        time.sleep(0.2)
    if alive():
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


DEMO_TRANSCRIPTS = ("IBM", "MCD", "KO", "WMT", "NKE", "DIS", "BAC", "UPS")  # well-known ECTSum companies


def build_demo_db(client: Any, mirror: Path, n_transcripts: int = 4, news: bool = True,
                  prices: bool = True, index: bool = True) -> dict[str, Any]:
    """A small real database through the SDK: a few ECTSum calls, CNBC headlines, BTC-USD daily bars,
    and (index=True) its search indexes, as `fincortex index build` makes them (a search never builds).

    Transcripts are ingested as files, one call per company, with the publication date the file name
    implies (TICKER_qN_YYYY: about a month after the quarter ends), so as-of filters have real dates.
    """
    import datetime as dt
    import re

    ects = sorted((Path(mirror) / "transcripts/ectsum").glob("*/ects/*.txt"))
    if not ects:
        raise FileNotFoundError(f"no ECTSum transcripts under {mirror}")
    picked: list[Path] = []
    for ticker in DEMO_TRANSCRIPTS:
        picked += [p for p in ects if p.name.startswith(f"{ticker}_")][-1:]
    picked = (picked + [p for p in ects if p not in picked])[:n_transcripts]
    reports = []
    for path in picked:
        match = re.fullmatch(r"([A-Z.]+)_q(\d)_(\d{4})", path.stem)
        if not match:
            continue
        ticker, quarter, year = match.group(1), int(match.group(2)), int(match.group(3))
        end_month = quarter * 3
        published = dt.date(year + (end_month == 12), end_month % 12 + 1, 28)
        reports.append(client.ingest([path], doc_type="transcript", ticker=ticker,
                                     published_at=published.isoformat(), source="ectsum"))
    if news:
        reports.append(client.ingest(dataset="headlines:cnbc"))
    if prices:
        client.import_prices(Path(mirror) / "prices/btcusd_daily_2011_2022.csv", "BTC-USD")
    if index:
        client.build_index()
    return {"transcripts": [p.stem for p in picked], "reports": [r.summary() for r in reports]}


def default_mirror() -> Path:
    """FINCORTEX_DATA_MIRROR, else ../shared/data beside the checkout (the tests' convention)."""
    from fincortex.config import PROJECT_ROOT

    raw = os.environ.get("FINCORTEX_DATA_MIRROR") or os.environ.get("FINCORTEX_MIRROR")
    return Path(raw).resolve() if raw else (PROJECT_ROOT.parent / "shared" / "data").resolve()


def ui_env(home: Path, db: Path | None = None, mirror: Path | None = None) -> dict[str, str]:
    """The environment a dashboard test runs under: its own home and database, offline models."""
    return {
        "FINCORTEX_HOME": str(home),
        "FINCORTEX_DB": str(db or home / "ui.duckdb"),
        "FINCORTEX_DATA_MIRROR": str(mirror or default_mirror()),
        "FINCORTEX_MIRROR": str(mirror or default_mirror()),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "FINCORTEX_UI_HOST": "127.0.0.1",  # AppTest has no server address: say it is local (ui/login.py)
    }


def share_default_chat_model(settings: Any) -> Path:
    """Point <home>/models at the checkout's converted SmolLM2 (converted once, like the models tests do),
    so a test home does not convert and write the GGUF again."""
    from fincortex.config import PROJECT_ROOT
    from fincortex.models.llm.default_model import default_model_dir, ensure_default_chat_model

    shared = ensure_default_chat_model(PROJECT_ROOT / "data" / "models")
    target = default_model_dir(settings.models_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(shared, target_is_directory=True)
    return target
