"""The Ask page's "Verify a claim" mode: a claim and an as-of date in, `Client.verify` out, drawn as the
verdict, its explanation, what each figure of the claim met, and the citations (document, page, chunk)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from fincortex.ui import common
from fincortex.ui.serialize import to_jsonable

BADGE = {"supported": st.success, "refuted": st.error, "not enough evidence": st.warning}


def render_verification(payload: dict[str, Any]) -> None:
    BADGE.get(payload["verdict"], st.info)(f"Verdict: {payload['verdict']}")
    st.markdown(payload.get("explanation") or "")
    if payload.get("facts") and payload["facts"] != payload.get("explanation"):
        st.caption(f"Facts: {payload['facts']}")
    for note in payload.get("notes") or []:
        st.info(note)
    if payload.get("checks"):
        st.dataframe([{"claim figure": c["claim_figure"], "status": c["status"], "detail": c["detail"]}
                      for c in payload["checks"]], hide_index=True, width="stretch")
    cites = payload.get("citations") or []
    st.markdown(f"**Citations** ({len(cites)})")
    for c in cites:
        page = f"p. {c['page']}" if c.get("page") else "page unknown"
        st.markdown(f"- {c.get('document') or 'document ' + str(c.get('doc_id'))} · {page} · chunk {c['chunk_id']} · "
                    f"available {str(c.get('available_at'))[:10]}")
    st.caption(f"as of {payload.get('as_of')} · company {payload.get('company') or '(none named)'} · "
               f"{len(payload.get('passages') or [])} passages read · run {payload.get('run_id')} · "
               f"{payload.get('seconds', 0):.1f}s")


def page() -> None:
    if not (common.require("verify") and common.db_ready()):
        return
    with st.form("verify_form"):
        claim = st.text_area("Claim", key="verify_claim",
                             placeholder="e.g. 3M's FY2022 net sales were $34,229 million.")
        c1, c2 = st.columns(2)
        as_of_day = c1.date_input("As of (end of day, UTC)", value=dt.date.today(), min_value=common.EARLIEST_DATE,
                                  max_value=dt.date.today(), key="verify_as_of",
                                  help="Only documents public by then are read.")
        phrase = c2.checkbox("Let the chat model phrase the explanation", value=True, key="verify_phrase")
        submitted = st.form_submit_button("Verify")
    if submitted:
        if not claim.strip():
            st.error("Type a claim first: it was empty.")
        elif as_of_day is None:
            st.error("Pick an as-of date.")
        else:
            with st.spinner("Checking the claim against the documents…"):
                try:
                    result = common.client().verify(claim.strip(), as_of=common.as_of_to_datetime(as_of_day),
                                                    phrase=bool(phrase))
                    st.session_state["verify_result"] = to_jsonable(result.as_dict())
                    st.session_state.pop("verify_error", None)
                except (ValueError, LookupError) as exc:
                    st.session_state["verify_error"] = str(exc)
                    st.session_state.pop("verify_result", None)
    if st.session_state.get("verify_error"):
        st.error(f"The claim could not be checked: {st.session_state['verify_error']}")
    if st.session_state.get("verify_result"):
        render_verification(st.session_state["verify_result"])
