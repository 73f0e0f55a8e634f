"""The import contract (docs/architecture.md): no layer imports one above it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is a dev dependency: pip install -e '.[dev]'")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
check_imports = importlib.import_module("check_imports")


def test_every_layer_contract_is_kept():
    result = check_imports.check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.mark.parametrize("file, line, broken", [
    ("retrieval/fusion.py", "from fincortex.client import Client", "fincortex.retrieval is not allowed to import fincortex.client"),
    ("fincortex/ingest/chunking.py", "import fincortex.retrieval.bm25_index", "fincortex.ingest is not allowed to import fincortex.retrieval"),
    ("agents/trading/risk.py", "from fincortex.cli import app", "fincortex.agents is not allowed to import fincortex.cli"),
    ("ui/charts.py", "import duckdb", "fincortex.ui is not allowed to import duckdb"),
])
def test_a_planted_upward_import_breaks_the_contract(file, line, broken):
    result = check_imports.check([(file, line)])
    assert result.returncode != 0
    assert broken in result.stdout.replace("\n", " ")
