"""Chat-model adaptation: continual pretraining, merge recipes (mergekit), lineage cards, LM evaluation."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "cpt": ("CPTConfig", "run_cpt"),
    "merge": ("merge_from_recipe", "validate_recipe"),
    "lineage": ("LineageCard", "model_digest", "read_card", "write_card"),
    "lm_eval": ("evaluate_lm",),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
