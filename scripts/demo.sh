#!/usr/bin/env bash
# The README's demo: set up, ingest the embedded defaults from the data mirror, show what landed,
# then run the rest of the main job that the installed parts support.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export FINCORTEX_DATA_MIRROR=${FINCORTEX_DATA_MIRROR:-$(cd .. && pwd)/shared/data}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
fincortex doctor
for dataset in ectsum:val headlines filings crypto-prices; do
  fincortex ingest --dataset "$dataset"
done
fincortex stats
