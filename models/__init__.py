"""fincortex.models: model registry and lineage, tuning, merging, LLM backends."""
