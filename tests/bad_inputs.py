"""A bad-input corpus for ingestion: every case of issue 19 plus huge and truncated files, with the outcome
and reason each must get. Used by tests/test_reliability_inputs.py and benchmarks/reliability.py.

An entry is *reported* when its outcome is the expected one and its reason names the problem; an entry
with no outcome at all (the old folder walk's silent skip) counts as not reported.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

TEXT = "Revenue grew 12% to $4.1 billion while margins expanded across every segment.\n"


def build(folder: Path, mirror: Path | None = None, huge_mb: int = 40) -> dict[str, tuple[str, str | None]]:
    """Write the corpus into `folder`; {entry name: (expected outcome, substring of the reason or None)}."""
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, tuple[str, str | None]] = {}

    def put(name: str, data: bytes | str, outcome: str, reason: str | None) -> None:
        path = folder / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        expect[name] = (outcome, reason)

    put("good.txt", TEXT, "added", None)
    put("empty.txt", b"", "failed", "empty file")
    put("whitespace.txt", b"   \n\n\t \n", "failed", "no text")
    put("binary.txt", bytes(range(256)) * 64, "failed", "binary content")
    put("nul_late.txt", TEXT.encode() * 300 + b"\x00rest\n", "failed", "binary content")
    put("nul_late.md", b"# T\n\n" + TEXT.encode() * 300 + b"\x00\n", "failed", "binary content")
    put("utf16_bom.txt", ("UTF-16 text: " + TEXT).encode("utf-16"), "added", None)
    put("utf16be_bom.txt", b"\xfe\xff" + ("Big-endian: " + TEXT).encode("utf-16-be"), "added", None)
    put("utf8_bom.txt", b"\xef\xbb\xbf" + TEXT.encode(), "added", None)
    put("latin1.txt", "Caf\xe9 revenue rose \xa3 5 million.".encode("latin-1"), "failed", "not valid utf-8")
    put("truncated_utf8.txt", (TEXT + "年報").encode()[:-1], "failed", "truncated character")
    put("truncated.json", '[{"text": "Cash flow was strong."}, {"text": "De', "failed", "invalid json")
    put("not_records.json", "[1, 2, 3]", "failed", "json must be")
    put("broken_line.jsonl", "\n".join([json.dumps({"text": "Capex fell."}), '{"text": "bro', json.dumps({"text": "Debt fell."})]),
        "added", "line 2: invalid json")
    put("all_broken.jsonl", "{nope\n{also nope\n", "failed", "line 1")
    put("no_text.csv", "open,high,low\n1,2,3\n", "failed", "lacks a text column")
    put("ragged.csv", 'text,date\n"ok",2020-01-01\n"too many",2020-01-02,extra\n', "failed", "more fields")
    put("bad_date.csv", 'text,date\n"ok",not-a-date\n', "failed", "record")
    put("empty.html", "<html><body><script>x()</script></body></html>", "failed", "no visible text")
    put("truncated.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "failed", "corrupt or truncated pdf")
    put("not_a.pdf", b"GIF89a this is a picture", "failed", "corrupt or truncated pdf")
    if mirror is not None and (mirror / "filings/NIKE_2017_10K.pdf").is_file():
        pdf = (mirror / "filings/NIKE_2017_10K.pdf").read_bytes()
        put("cut_in_half.pdf", pdf[: len(pdf) // 2], "failed", "pdf")
    put("sheet.xlsx", b"PK\x03\x04 workbook", "skipped", "unsupported file type .xlsx")
    put("memo.docx", b"PK\x03\x04 document", "skipped", "unsupported file type .docx")
    put("archive.txt.gz", gzip.compress(TEXT.encode()), "skipped", "unsupported file type .gz")
    put("no_extension", TEXT, "skipped", "unsupported file type (no extension)")
    put(".hidden.txt", TEXT, "skipped", "hidden")
    (folder / ".cache").mkdir(exist_ok=True)
    (folder / ".cache" / "x.txt").write_text(TEXT)
    expect[".cache"] = ("skipped", "hidden folder")
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    expect["loop"] = ("failed", "loop")
    (folder / "dangling.txt").symlink_to(folder / "missing-target.txt")
    expect["dangling.txt"] = ("failed", "broken symbolic link")
    (folder / "folder.txt").mkdir(exist_ok=True)  # a folder named like a file: walked, holds one good file
    (folder / "folder.txt" / "inside.md").write_text("# Inside\n\n" + TEXT)
    expect["inside.md"] = ("added", None)
    if huge_mb:
        with open(folder / "huge.txt", "wb") as out:  # above the streaming threshold: bounded memory path
            line = ("Quarterly revenue and margins moved as guidance was revised. " * 8 + "\n").encode()
            for _ in range(huge_mb * (1 << 20) // len(line) + 1):
                out.write(line)
        expect["huge.txt"] = ("added", None)
    return expect


def judge(outcomes, expect: dict[str, tuple[str, str | None]]) -> list[dict]:
    """One verdict per corpus entry: reported (right outcome, reason naming the problem) or not."""
    by_name = {Path(o.item).name: o for o in outcomes}
    verdicts = []
    for name, (outcome, reason) in sorted(expect.items()):
        got = by_name.get(name)
        ok = got is not None and got.outcome == outcome and (
            reason is None or (got.reason is not None and reason.lower() in got.reason.lower()))
        verdicts.append({"entry": name, "expected": outcome, "reason_has": reason, "reported": ok,
                         "got": None if got is None else got.outcome, "reason": None if got is None else got.reason})
    return verdicts
