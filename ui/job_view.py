"""How a page starts a background job and follows it without freezing.

A running job is drawn by a fragment that re-runs itself every second (only that fragment, not the
page), so the rest of the page stays usable. When the job ends, the fragment triggers one full rerun
and the page draws the result with its own renderer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from fincortex.ui import common
from fincortex.ui.jobs import JobError, JobStatus

POLL_SECONDS = 1.0


def start(kind: str, params: dict[str, Any], label: str) -> str | None:
    """Start a job for this session's database; returns its id, or shows why it could not start."""
    cfg = common.ui_settings()
    try:
        job_id = common.jobs().start(kind, params, label=label, db=cfg.db, mirror=cfg.mirror)
    except (JobError, OSError) as exc:
        common.show_error(f"Starting {label}", exc)
        return None
    st.session_state[_key(kind)] = job_id
    return job_id


def current(kind: str) -> JobStatus | None:
    job_id = st.session_state.get(_key(kind))
    if not job_id:
        return None
    try:
        return common.jobs().status(job_id)
    except JobError:
        return None


def follow_latest(kind: str) -> None:
    """Show the newest job of `kind` from any session (one a script started) when this session has none."""
    if st.session_state.get(_key(kind)):
        return
    try:
        latest = common.jobs().list(kind, limit=1)
    except (JobError, OSError, ValueError):
        return
    if latest:
        st.session_state[_key(kind)] = latest[0].job_id


def running(kind: str) -> bool:
    """Whether this session's current job of `kind` is still running (to avoid double starts)."""
    job = current(kind)
    return job is not None and not job.finished


def panel(kind: str, render_result: Callable[[JobStatus], None]) -> None:
    """The job area of a page: progress while running, then the result or the failure."""
    job = current(kind)
    _history(kind)
    if job is None:
        return
    if not job.finished:
        _follow(kind)
        return
    _summary(job)
    if job.state == "done":
        render_result(job)


def _follow(kind: str) -> None:
    @st.fragment(run_every=POLL_SECONDS)
    def follow() -> None:
        job = current(kind)
        if job is None:
            return
        if job.finished:
            st.rerun()  # the whole page redraws with the result
        _progress(job)
        if st.button("Cancel", key=f"cancel_{kind}_{job.job_id}"):
            common.jobs().cancel(job.job_id)
            st.rerun()

    follow()


def _progress(job: JobStatus) -> None:
    p = job.progress
    frac = p.fraction
    done = f"{p.done:,.0f}/{p.total:,.0f} · " if p.total else ""
    text = f"{job.label}: {done}{p.message or 'working'} · {job.elapsed_s:,.0f}s"
    if frac is None:
        with st.status(text, state="running"):
            st.caption("Progress is reported as the job goes; the page stays usable meanwhile.")
    else:
        st.progress(frac, text=text)


def _summary(job: JobStatus) -> None:
    took = f"{job.elapsed_s:,.1f}s"
    if job.state == "done":
        st.success(f"{job.label} finished in {took}.", icon=":material/check_circle:")
    elif job.state == "cancelled":
        st.warning(f"{job.label} was cancelled after {took}.", icon=":material/stop_circle:")
    else:
        st.error(f"{job.label} failed after {took}: {job.error}", icon=":material/error:")
        if job.log_tail.strip():
            with st.expander("Worker log"):
                st.code(job.log_tail, language=None)


def _history(kind: str) -> None:
    """Earlier runs of this kind (from any session): pick one to view its result again."""
    try:
        past = common.jobs().list(kind)
    except (JobError, OSError, ValueError):
        return
    if not past:
        return
    labels = {
        j.job_id: f"{dt.datetime.fromtimestamp(j.started_at):%Y-%m-%d %H:%M:%S} · {j.label} · {j.state}"
        for j in past
    }
    def show_chosen() -> None:  # only a user's pick changes the shown run, not a stale widget value
        chosen = st.session_state.get(f"history_{kind}")
        if chosen:
            st.session_state[_key(kind)] = chosen

    with st.expander(f"Earlier runs ({len(past)})", expanded=False):
        st.selectbox(
            "Show run",
            options=list(labels),
            format_func=labels.get,
            index=None,
            key=f"history_{kind}",
            placeholder="choose a run to show",
            on_change=show_chosen,
        )


def _key(kind: str) -> str:
    return f"job_{kind}"
