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
        import signal

        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=15)
