"""Chat-model adaptation: continual pretraining, merge recipes (mergekit), lineage cards, LM evaluation."""

from fincortex.lazy import lazy_exports

_EXPORTS = {
    "CPTConfig": "cpt",
    "run_cpt": "cpt",
    "merge_from_recipe": "merge",
    "validate_recipe": "merge",
    "LineageCard": "lineage",
    "model_digest": "lineage",
    "read_card": "lineage",
    "write_card": "lineage",
    "evaluate_lm": "lm_eval",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
