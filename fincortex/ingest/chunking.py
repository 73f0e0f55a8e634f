"""Token-aware chunking that respects sentence boundaries and keeps tables whole where it can.

Sections stream in; sentences (nupunkt) are counted in the embedding tokenizer's tokens in batches
(the Rust tokenizer is fast when fed many strings at once) and packed greedily up to `max_tokens`.
Consecutive chunks share up to `overlap` tokens of whole trailing sentences. A table fits in one chunk
when it can; a longer one is split by rows with its header row repeated. A sentence longer than a
chunk is cut at token offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import nupunkt
from tokenizers import Tokenizer

from fincortex.ingest.documents import Chunk, Section

ENCODE_BATCH = 512


@dataclass(frozen=True)
class _Unit:
    text: str
    n_tokens: int
    page: int | None
    is_table: bool


class Chunker:
    def __init__(self, tokenizer: Tokenizer, max_tokens: int = 200, overlap: int = 32) -> None:
        if max_tokens < 16:
            raise ValueError(f"chunk size {max_tokens} tokens is too small (minimum 16)")
        if not 0 <= overlap < max_tokens // 2:
            raise ValueError(f"overlap {overlap} must be >= 0 and below half the chunk size {max_tokens}")
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap = overlap

    # -- sections -> measured units ----------------------------------------------------------------
    def _pieces(self, sections: Iterable[Section]) -> Iterator[tuple[str, int | None, bool]]:
        for section in sections:
            text = section.text.strip()
            if not text:
                continue
            if section.is_table:
                yield text, section.page, True
            else:
                for sentence in nupunkt.sent_tokenize(text):
                    sentence = sentence.strip()
                    if sentence:
                        yield sentence, section.page, False

    def _units(self, sections: Iterable[Section]) -> Iterator[_Unit]:
        batch: list[tuple[str, int | None, bool]] = []
        for piece in self._pieces(sections):
            batch.append(piece)
            if len(batch) >= ENCODE_BATCH:
                yield from self._measure(batch)
                batch = []
        if batch:
            yield from self._measure(batch)

    def _measure(self, batch: list[tuple[str, int | None, bool]]) -> Iterator[_Unit]:
        encodings = self.tokenizer.encode_batch([text for text, _, _ in batch], add_special_tokens=False)
        for (text, page, is_table), encoding in zip(batch, encodings):
            n = len(encoding.ids)
            if n <= self.max_tokens:
                yield _Unit(text, n, page, is_table)
            elif is_table:
                yield from self._split_table(text, page)
            else:
                yield from self._split_long(text, encoding.offsets, page)

    def _split_long(self, text: str, offsets: list[tuple[int, int]], page: int | None) -> Iterator[_Unit]:
        step = self.max_tokens - self.overlap
        for start in range(0, len(offsets), step):
            window = offsets[start : start + self.max_tokens]
            yield _Unit(text[window[0][0] : window[-1][1]], len(window), page, False)
            if start + self.max_tokens >= len(offsets):
                break

    def _split_table(self, text: str, page: int | None) -> Iterator[_Unit]:
        header, *rows = text.split("\n")
        counts = [len(e.ids) for e in self.tokenizer.encode_batch([header, *rows], add_special_tokens=False)]
        header_tokens, row_tokens = counts[0], counts[1:]
        if header_tokens * 2 > self.max_tokens:  # a huge header: treat the table as plain lines
            header, header_tokens = "", 0
        group: list[str] = []
        size = header_tokens
        for row, n in zip(rows, row_tokens):
            if group and size + n > self.max_tokens:
                yield _Unit("\n".join([header, *group]).strip("\n"), size, page, True)
                group, size = [], header_tokens
            if n > self.max_tokens:  # a single giant row: cut it like a long sentence
                encoding = self.tokenizer.encode(row, add_special_tokens=False)
                yield from self._split_long(row, encoding.offsets, page)
                continue
            group.append(row)
            size += n
        if group:
            yield _Unit("\n".join([header, *group]).strip("\n"), size, page, True)

    # -- units -> chunks ---------------------------------------------------------------------------
    def chunk(self, sections: Iterable[Section]) -> Iterator[Chunk]:
        current: list[_Unit] = []
        size = 0
        ordinal = 0

        def emit(units: list[_Unit]) -> Chunk:
            nonlocal ordinal
            pages = [u.page for u in units if u.page is not None]
            chunk = Chunk(
                ordinal=ordinal,
                text=("\n" if units[0].is_table else " ").join(u.text for u in units),
                n_tokens=sum(u.n_tokens for u in units),
                page_start=min(pages) if pages else None,
                page_end=max(pages) if pages else None,
                is_table=units[0].is_table,
            )
            ordinal += 1
            return chunk

        def carry_over(units: list[_Unit]) -> list[_Unit]:
            kept: list[_Unit] = []
            total = 0
            for unit in reversed(units):
                if unit.is_table or total + unit.n_tokens > self.overlap:
                    break
                kept.insert(0, unit)
                total += unit.n_tokens
            return kept

        for unit in self._units(sections):
            if unit.is_table:
                if current:
                    yield emit(current)
                yield emit([unit])
                current, size = [], 0
                continue
            if current and size + unit.n_tokens > self.max_tokens:
                yield emit(current)
                current = carry_over(current)
                size = sum(u.n_tokens for u in current)
                if size + unit.n_tokens > self.max_tokens:
                    current, size = [], 0
            current.append(unit)
            size += unit.n_tokens
        if current:
            yield emit(current)
