"""Regenerate fincortex/datasets/manifest.json from a data mirror's MANIFEST.json.

The project manifest pins every public file to its repository, commit, path, size and sha256, so a
download from the canonical source and a copy from a mirror are verified the same way. One entry per
registered connector with a `mirror_prefix` (fincortex/datasets/registry.py): the mirror's files under
that folder. A connector without one (a live API source) lists its own origins and has no entry.
Usage: python scripts/build_dataset_manifest.py ../shared/data/MANIFEST.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fincortex.datasets.registry import all_connectors


def build(entries: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for connector in all_connectors():
        if not connector.mirror_prefix:
            continue
        files = [e for e in entries if e["file"].startswith(connector.mirror_prefix)]
        if not files:
            raise SystemExit(f"{connector.name}: the mirror manifest has no file under {connector.mirror_prefix}")
        sources = sorted({(e["source"], e["commit"], e.get("license", "")) for e in files})
        out[connector.name] = {
            "sources": [{"repo": s, "commit": c, "license": lic} for s, c, lic in sources],
            # compact rows: [mirror path, sha256, bytes, repo index, path in repo]
            "files": [
                [
                    e["file"],
                    e["sha256"],
                    e["bytes"],
                    sources.index((e["source"], e["commit"], e.get("license", ""))),
                    e["path"],
                ]
                for e in sorted(files, key=lambda e: e["file"])
            ],
        }
    return out


def main(mirror_manifest: str) -> None:
    out = build(json.loads(Path(mirror_manifest).read_text()))
    target = Path(__file__).resolve().parent.parent / "fincortex" / "datasets" / "manifest.json"
    target.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {target} ({sum(len(d['files']) for d in out.values())} files)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/MANIFEST.json")
