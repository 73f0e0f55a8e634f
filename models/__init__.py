"""fincortex.models: the model registry (`registry`), chat backends (`llm`), embedder and reranker
tuning (`tuning`), and chat-model adaptation (`merging`: CPT, merges, lineage, LM evaluation)."""
