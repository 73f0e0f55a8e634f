#!/usr/bin/env bash
# The README's demo (main job) on the embedded defaults: set up, ingest ECTSum val, the headlines, the
# 10-K PDFs and BTC/ETH prices from the data mirror, build the hybrid index, search point-in-time,
# backtest the baselines, then start the dashboard (set FINCORTEX_DEMO_NO_UI=1 to stop before it).
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
fincortex index build
# a real cross-encoder for search: trained once on this corpus (skipped when a default reranker exists)
fincortex tune reranker --if-missing
fincortex search "guidance for operating margin next quarter" --k 5 --as-of 2021-12-31
fincortex backtest --symbol BTC --start 2018-01-01 --end 2019-12-31 --agent sma,momentum
if [ -z "${FINCORTEX_DEMO_NO_UI:-}" ]; then
  exec fincortex ui
fi
