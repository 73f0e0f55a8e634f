"""What every agent needs from the layers below it, as one typed object the SDK builds and passes in.

Why: the analyst, the forecaster and the trader used to find search three ways (a service lambda, a
Client lambda, a new Client inside the trader: an agent reaching up into the SDK). Now the SDK
(`Client.agent_deps`) builds one `AgentDeps` and every agent takes it; tests inject fakes the same way.
The point-in-time guarantees stay with the agents: each one binds `search` to its run's as_of through
`PointInTimeSearch` (analyst, forecaster) or per simulated day (trader), and records what it saw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from fincortex.agents.common.runs import RunRecorder
from fincortex.config import Settings
from fincortex.store import Store


class SearchFn(Protocol):
    """The retrieval service bound to a store: `search(query, k=, as_of=, tickers=, doc_types=, sources=,
    mode=, rerank=) -> SearchResults` (hits with chunk_id, text, available_at, scores)."""

    def __call__(self, query: str, **kwargs: Any) -> Any: ...


class ChatFactory(Protocol):
    """`chat_model(spec, **params)`: a chat model with `score_choices` for a spec (None = settings.llm);
    params: temperature, seed, max_tokens, ... (models.llm.factory.get_chat_model)."""

    def __call__(self, spec: str | None = None, **params: Any) -> Any: ...


@dataclass(frozen=True)
class AgentDeps:
    """search + chat models + store (+ settings for file locations): all an agent takes from outside."""

    settings: Settings
    store: Store | None  # None: runs are recorded in memory only (RunRecorder), nothing is persisted
    search: SearchFn | None  # None: this agent runs without retrieval (and says so if asked to retrieve)
    chat_model: ChatFactory

    @classmethod
    def build(cls, settings: Settings, store: Store) -> AgentDeps:
        """The production wiring (what `Client.agent_deps` returns): the retrieval service on `store`,
        chat models from the model factory."""
        from functools import partial

        from fincortex.models.llm.factory import get_chat_model
        from fincortex.retrieval import service

        return cls(settings, store, partial(service.search, store, settings), partial(get_chat_model, settings))

    def with_search(self, search: SearchFn | None) -> AgentDeps:
        return replace(self, search=search)

    def with_chats(self, chats: Mapping[str | None, Any] | Any) -> AgentDeps:
        """Already-built chat models instead of the factory: a mapping spec -> model (an unknown spec is a
        KeyError naming the known ones), or one model used for every spec."""
        if isinstance(chats, Mapping):
            known = dict(chats)

            def chat_model(spec: str | None = None, **_params: Any) -> Any:
                if spec not in known:
                    raise KeyError(f"no chat model given for {spec!r} (given: {', '.join(map(str, known))})")
                return known[spec]
        else:
            def chat_model(spec: str | None = None, **_params: Any) -> Any:
                return chats

        return replace(self, chat_model=chat_model)

    def recorder(self, kind: str, question: str, as_of: datetime, **fields: Any) -> RunRecorder:
        """A started run record on this store (every agent run is recorded the same way)."""
        return RunRecorder(self.store, kind, question, as_of, **fields).start()


def require_search(deps: AgentDeps, who: str) -> Callable[..., Any]:
    """deps.search, or a ValueError saying which agent needed it."""
    if deps.search is None:
        raise ValueError(f"{who} with retrieval needs a search function (AgentDeps.search, e.g. Client.agent_deps())")
    return deps.search
