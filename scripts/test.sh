#!/usr/bin/env bash
# The README's test command: set up, then run the default suite (slow and GPU tests are opt-in:
# `pytest -m slow`, `pytest -m gpu`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export FINCORTEX_DATA_MIRROR=${FINCORTEX_DATA_MIRROR:-$(cd .. && pwd)/shared/data}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec python -m pytest -m "not slow and not gpu" -q -p no:cacheprovider --timeout=900 "$@"
