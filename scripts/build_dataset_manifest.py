"""Regenerate fincortex/datasets/manifest.json from a data mirror's MANIFEST.json.

The project manifest pins every public file to its repository, commit, path, size and sha256, so a
download from the canonical source and a copy from a mirror are verified the same way.
Usage: python scripts/build_dataset_manifest.py ../shared/data/MANIFEST.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# dataset name -> (folder prefix in the mirror, description, license note)
DATASETS = {
    "ectsum": ("transcripts/ectsum/", "ECTSum earnings-call transcripts and bullet summaries (EMNLP 2022)"),
    "headlines": ("news/", "CNBC, Reuters and Guardian market headlines 2017-2020 (Kaggle)"),
    "phrasebank": ("sentiment/", "Financial PhraseBank sentences with sentiment labels (CC BY-NC-SA)"),
    "tatqa": ("tatqa/", "TAT-QA dev: annual-report tables + paragraphs with questions (MIT)"),
    "forecastbench": ("forecastbench/", "ForecastBench question and resolution sets (CC BY-SA 4.0)"),
    "crypto-prices": ("prices/", "BTC/ETH/LTC daily OHLCV (Bitstamp, Bitfinex, Coinbase)"),
    "filings": ("filings/", "SEC 10-K filings as PDF (FinanceBench, CC BY-NC)"),
}


def main(mirror_manifest: str) -> None:
    entries = json.loads(Path(mirror_manifest).read_text())
    out: dict[str, dict] = {}
    for name, (prefix, description) in DATASETS.items():
        files = [e for e in entries if e["file"].startswith(prefix)]
        sources = sorted({(e["source"], e["commit"], e.get("license", "")) for e in files})
        out[name] = {
            "description": description,
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
    target = Path(__file__).resolve().parent.parent / "fincortex" / "datasets" / "manifest.json"
    target.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {target} ({sum(len(d['files']) for d in out.values())} files)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/MANIFEST.json")
