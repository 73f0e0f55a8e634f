"""Check the layer contract of pyproject.toml ([tool.importlinter]) with import-linter.

Why a staged copy: setuptools' package-dir maps retrieval/, models/, agents/ and ui/ into the
`fincortex` namespace, and import-linter (grimp) walks a package's folder on disk, where those
sub-packages are not. So the Python files are copied into one `fincortex/` tree first.

    python scripts/check_imports.py                     # exit 0 when every contract is kept
    python scripts/check_imports.py --plant retrieval/fusion.py "from fincortex.client import Client"
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stage(target: Path) -> Path:
    """Copy every package's .py files to target/<import path>, following pyproject's package-dir."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_dir: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    for package, folder in sorted(package_dir.items(), key=lambda kv: kv[0].count(".")):
        shutil.copytree(ROOT / folder, target / package.replace(".", "/"), dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.json", "*.sql", "*.md"))
    return target


def check(plants: list[tuple[str, str]] = ()) -> subprocess.CompletedProcess:
    """Run lint-imports on a staged tree; `plants` appends (repo-relative file, line) first."""
    with tempfile.TemporaryDirectory(prefix="fincortex-imports-") as tmp:
        staged = stage(Path(tmp))
        config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
        for rel, line in plants:
            top, _, rest = rel.partition("/")
            package = next(p for p, folder in config.items() if folder == top)
            with open(staged / package.replace(".", "/") / rest, "a") as fh:
                fh.write(f"\n{line}\n")
        env = {**os.environ, "PYTHONPATH": str(staged)}
        lint = Path(sys.executable).with_name("lint-imports")
        return subprocess.run([str(lint), "--no-cache", str(ROOT / "pyproject.toml")], cwd=staged, env=env,
                              capture_output=True, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plant", nargs=2, action="append", default=[], metavar=("FILE", "LINE"),
                        help="append LINE to FILE (repo-relative) in the staged copy, to see the contract fail")
    args = parser.parse_args()
    result = check([tuple(p) for p in args.plant])
    print(result.stdout[result.stdout.find("Contracts"):] if "Contracts" in result.stdout else result.stdout)
    print(result.stderr, file=sys.stderr, end="")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
