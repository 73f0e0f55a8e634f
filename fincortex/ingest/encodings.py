"""Is this file text, and in which encoding: decided over the whole file, the same way for every text parser.

- A byte-order mark names the encoding (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) when the operator asked for
  the default (utf-8) or for the same family (`--encoding utf-16`); NUL bytes are then part of the text,
  so the NUL check runs on decoded characters, after the encoding is known (it used to run on raw bytes
  first, so UTF-16 could never be ingested).
- A NUL character anywhere in the file rejects it as binary (it used to be checked in the first 8 KB
  only, so a late NUL was stored while an early one was rejected); control characters are judged on
  the first block, as before.
Hand-written on purpose: charset detectors (chardet, charset-normalizer) guess; here the operator's
`--encoding` or a BOM decides, and anything else is a clear error telling them which flag to pass.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from fincortex.ingest.documents import IngestError

STREAM_BLOCK = 1 << 20  # 1 MiB
HEAD = 8192
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def _family(encoding: str) -> str:
    name = codecs.lookup(encoding).name  # e.g. 'utf-16-le', 'utf-8', 'cp1252'
    return "utf-32" if name.startswith("utf-32") else "utf-16" if name.startswith("utf-16") else name


def effective_encoding(path: Path, requested: str) -> str:
    """The codec to decode `path` with: the BOM's when it agrees with the request (or the request is utf-8)."""
    try:
        codecs.lookup(requested)
    except LookupError:
        raise IngestError(f"unknown encoding {requested!r}: pass a Python codec name such as utf-8, utf-16, cp1252") from None
    with open(path, "rb") as handle:
        head = handle.read(4)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            wanted = _family(requested)
            if wanted in ("utf-8", _family(encoding)) or (wanted == "utf-8" and encoding == "utf-8-sig"):
                return encoding
            raise IngestError(f"the file starts with a {encoding.upper()} byte-order mark but --encoding {requested} "
                              f"was given: pass --encoding {encoding} (or utf-8) instead")
    return requested


def sniff(path: Path, requested: str) -> str:
    """Reject empty, binary and wrongly-encoded files before any work; return the encoding to read with."""
    if path.stat().st_size == 0:
        raise IngestError("empty file (0 bytes)")
    encoding = effective_encoding(path, requested)
    wide = _family(encoding) in ("utf-16", "utf-32")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset, first = 0, True
    with open(path, "rb") as handle:
        while block := handle.read(STREAM_BLOCK):
            if not wide and b"\x00" in block:  # single-byte-unit encodings: a NUL byte is a NUL character
                raise IngestError(f"binary content (NUL bytes at offset {offset + block.index(0)}), not text: "
                                  "is the extension right?")
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"not valid {encoding} text (byte 0x{exc.object[exc.start]:02x} at offset "
                    f"{offset + exc.start}); pass --encoding cp1252 or latin-1 if that is its encoding"
                ) from None
            if "\x00" in text:
                raise IngestError(f"binary content (NUL characters, first near byte {offset}), not text: "
                                  "is the extension right?")
            if first:
                head = text[:HEAD]
                controls = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\n\f\r")
                if controls > len(head) * 0.05:
                    raise IngestError("binary content (control bytes), not text: is the extension right?")
                first = False
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise IngestError(f"not valid {encoding} text (truncated character at the end)") from None
    return encoding
