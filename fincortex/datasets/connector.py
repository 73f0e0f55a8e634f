"""A dataset connector: one class per dataset, in the shape of OpenBB's provider `Fetcher`.

transform_query (which origins: the whole dataset or a subset, from where) -> extract_data (make them
local and verified: a mirror copy or a sha256-checked download of the pinned files; a live API connector
overrides `files` to list its remote pages and `extract_data` to fetch them into the cache) ->
transform_data (parse each origin into what the connector's kind holds).

Kinds and what ingestion does with them (fincortex/ingest/service.py dispatches on the base class):
- documents (DocumentConnector): origins parse into Documents for the search corpus;
- prices (PriceConnector): (file, symbol) series parse into daily bars for the prices table;
- labelled pairs, forecast questions (RecordConnector): records read by their consumer (training,
  `fincortex forecast`); ingestion refuses them and names the consumer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from fincortex.datasets.fetch import DatasetFetcher, PulledDataset
from fincortex.datasets.manifest import DatasetError, DatasetFile, pinned_files

if TYPE_CHECKING:  # the pipeline pulls pyarrow and prices pulls pandas: imported when used, not to list
    import pandas as pd

    from fincortex.ingest.documents import Document
    from fincortex.ingest.pipeline import Origin

DOCUMENTS = "documents"
PRICES = "prices"
LABELLED_PAIRS = "labelled pairs"
FORECAST_QUESTIONS = "forecast questions"
KINDS = (DOCUMENTS, PRICES, LABELLED_PAIRS, FORECAST_QUESTIONS)


@dataclass(frozen=True)
class PullQuery:
    subset: str | None  # e.g. "val" for ectsum, "cnbc" for headlines; None = everything
    mirror: Path | None
    root: Path  # <cache>/datasets: files land at root / relpath


class Connector(ABC):
    """One dataset: what it is, when its information became public, where its origins are, how to parse them."""

    name: ClassVar[str]
    kind: ClassVar[str]  # one of KINDS
    description: ClassVar[str]
    available_at_rule: ClassVar[str]  # in words, as README's "Point in time" table states it
    subsets: ClassVar[tuple[str, ...]] = ()  # NAME:SUBSET values shown in help (each selects files; tested)
    mirror_prefix: ClassVar[str] = ""  # its folder in a mirror laid out like shared/data (manifest builder)

    # -- what it has ---------------------------------------------------------------------------
    def files(self) -> tuple[DatasetFile, ...]:
        """Every origin file: the pinned manifest entry. A live API connector lists its remote pages here."""
        return pinned_files(self.name)

    def licences(self) -> list[str]:
        return sorted({f.license for f in self.files()})

    def present(self, cache_dir: Path) -> int:
        """How many of its files are in the cache (by presence; a pull verifies them)."""
        root = Path(cache_dir) / "datasets"
        return sum(1 for f in self.files() if (root / f.relpath).is_file())

    # -- transform_query -> extract_data -------------------------------------------------------
    def transform_query(self, subset: str | None, mirror: Path | None, cache_dir: Path) -> PullQuery:
        if mirror is not None and not Path(mirror).is_dir():
            raise DatasetError(f"mirror folder {mirror} does not exist")
        return PullQuery(subset, Path(mirror) if mirror else None, Path(cache_dir) / "datasets")

    def select(self, query: PullQuery) -> tuple[DatasetFile, ...]:
        """The subset: files with it as a folder name or a file-name prefix."""
        files = self.files()
        if not query.subset:
            return files
        chosen = tuple(
            f for f in files if query.subset in f.relpath.split("/") or Path(f.relpath).name.startswith(query.subset)
        )
        if not chosen:
            raise DatasetError(f"dataset {self.name!r} has no subset {query.subset!r}")
        return chosen

    def extract_data(
        self,
        query: PullQuery,
        on_file: Callable[[DatasetFile], None] | None = None,
        fetcher: DatasetFetcher | None = None,
    ) -> PulledDataset:
        files = self.select(query)
        (fetcher or DatasetFetcher()).bring(files, query.root, query.mirror, on_file)
        return PulledDataset(self.name, query.root, files)

    def pull(
        self,
        subset: str | None = None,
        *,
        mirror: Path | None = None,
        cache_dir: Path = Path("data/cache"),
        on_file: Callable[[DatasetFile], None] | None = None,
        fetcher: DatasetFetcher | None = None,
    ) -> PulledDataset:
        return self.extract_data(self.transform_query(subset, mirror, cache_dir), on_file, fetcher)

    # -- transform_data ------------------------------------------------------------------------
    def is_origin(self, file: DatasetFile) -> bool:
        """Which pulled files are parsed (the rest ride along, e.g. ECTSum's reference summaries)."""
        return True

    def origins(self, pulled: PulledDataset) -> list[DatasetFile]:
        return [f for f in pulled.files if self.is_origin(f)]

    @abstractmethod
    def transform_data(self, pulled: PulledDataset) -> Iterator[Any]:
        """The parsed origins of a pull, typed by the kind."""


def _known_hash(sha256: str) -> str:
    return sha256


class DocumentConnector(Connector):
    """Origins that parse into Documents; the ingest pipeline stores and chunks them."""

    kind: ClassVar[str] = DOCUMENTS

    @abstractmethod
    def parse(self, path: Path, file: DatasetFile, origin_hash: str) -> list[Document]:
        """One origin file -> its Documents, each with available_at and available_at_rule set."""

    def transform_data(self, pulled: PulledDataset) -> Iterator[Origin]:
        """Lazy pipeline origins: an unchanged origin (same sha256) is never parsed."""
        from fincortex.ingest.pipeline import Origin

        for file in self.origins(pulled):
            yield Origin(
                item=f"{pulled.name}:{file.relpath}",
                uri=f"dataset://{file.relpath}",
                size=file.size,
                hash=partial(_known_hash, file.sha256),  # verified by the pull
                parse=partial(self.parse, pulled.path(file), file),
            )


@dataclass(frozen=True)
class PriceSeries:
    """One symbol's daily bars in one file: read when imported."""

    item: str  # what the ingest report shows: "prices/x.csv (ETH)"
    path: Path
    symbol: str
    source: str

    def bars(self) -> tuple[pd.DataFrame, int]:
        """(bars with ts, open, high, low, close, volume; rows skipped for lacking a date or a close)."""
        from fincortex.prices import read_price_csv

        return read_price_csv(self.path, self.symbol)


class PriceConnector(Connector):
    """Files of daily OHLCV bars; ingestion writes them to the prices table (available_at = bar end)."""

    kind: ClassVar[str] = PRICES
    series: ClassVar[tuple[tuple[str, str], ...]]  # (relpath, symbol): a wide file holds several symbols

    def transform_data(self, pulled: PulledDataset) -> Iterator[PriceSeries]:
        present = {f.relpath for f in pulled.files}
        for relpath, symbol in self.series:
            if relpath in present:
                yield PriceSeries(f"{relpath} ({symbol})", pulled.root / relpath, symbol, Path(relpath).stem)


class RecordConnector(Connector):
    """Records for a consumer other than the search corpus (training pairs, forecast questions)."""

    consumer: ClassVar[str]  # what ingestion says instead of storing them
