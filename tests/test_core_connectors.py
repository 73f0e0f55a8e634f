"""Connectors as objects: one class per dataset, one registry line each, no dataset named outside its file."""

from __future__ import annotations

import inspect
import io
import json
import re
import tokenize
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fincortex.datasets import registry
from fincortex.datasets.connector import KINDS, DocumentConnector, PullQuery, RecordConnector
from fincortex.datasets.fetch import PulledDataset, sha256_file
from fincortex.datasets.manifest import DatasetError, DatasetFile
from fincortex.ingest.dates import END_OF_DAY_RULE, end_of_day
from fincortex.ingest.documents import Document, IngestError, Section

REPO = Path(__file__).resolve().parent.parent


class DeskNotes(DocumentConnector):
    """Research notes in a folder, `YYYY-MM-DD_title.txt`: public at the end of the day in the name.

    Its origins are listed from the folder, as a live API connector would list remote pages, so it needs
    no manifest entry (docs/datasets.md shows this class; a test checks the two are the same).
    """

    name = "desk-notes"
    description = "research desk notes, one text file per note"
    available_at_rule = "the date in the file name: end of that day US/Eastern"
    subsets = ("2021",)

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def files(self) -> tuple[DatasetFile, ...]:
        return tuple(
            DatasetFile(relpath=p.name, sha256=sha256_file(p), size=p.stat().st_size, repo=f"file://{self.folder}",
                        commit="", repo_path=p.name, license="internal")
            for p in sorted(self.folder.glob("*.txt"))
        )

    def present(self, cache_dir: Path) -> int:
        return len(self.files())  # the folder is the only copy

    def extract_data(self, query: PullQuery, on_file=None, fetcher=None) -> PulledDataset:
        files = self.select(query)
        for file in files:
            if on_file:
                on_file(file)
        return PulledDataset(self.name, self.folder, files)  # already local: nothing to bring

    def parse(self, path: Path, file: DatasetFile, origin_hash: str) -> list[Document]:
        day, _, title = path.stem.partition("_")
        try:
            when = end_of_day(datetime.fromisoformat(day))
        except ValueError:
            raise IngestError(f"note {path.name} does not start with a YYYY-MM-DD date") from None
        return [Document(source_key=f"desk-notes:{path.stem}", content_hash=origin_hash,
                         sections=[Section(path.read_text(encoding="utf-8"))], source="desk-notes", doc_type="note",
                         available_at=when, available_at_rule=END_OF_DAY_RULE, title=title.replace("-", " "),
                         uri=f"dataset://{file.relpath}", n_bytes=file.size)]


@pytest.fixture
def desk_notes(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "2021-03-04_margin-outlook.txt").write_text("Gross margin guidance was raised to 41%.", encoding="utf-8")
    (folder / "2022-01-10_buyback.txt").write_text("The board approved a $2 billion buyback.", encoding="utf-8")
    (folder / "undated_memo.txt").write_text("Lunch moved to noon.", encoding="utf-8")
    registry.register(DeskNotes(folder))  # the one line that adds a dataset
    yield folder
    registry.unregister("desk-notes")


def test_a_connector_registered_by_one_line_is_listed_and_ingestable(home, desk_notes):
    from fincortex import Client
    from fincortex.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["data", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "desk-notes" in line)
    assert "documents" in row and "internal" in row and "research desk notes" in row

    result = runner.invoke(app, ["ingest", "--dataset", "desk-notes:2021", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"]["added"] == 1  # the subset: only the 2021 note
    result = runner.invoke(app, ["ingest", "--dataset", "desk-notes", "--json"])
    outcomes = {o["item"]: o for o in json.loads(result.output)["outcomes"]}
    assert result.exit_code == 1  # one bad origin is reported with its reason, the rest lands
    assert outcomes["desk-notes:2021-03-04_margin-outlook.txt"]["outcome"] == "unchanged"
    assert outcomes["desk-notes:2022-01-10_buyback.txt"]["outcome"] == "added"
    assert "does not start with a YYYY-MM-DD date" in outcomes["desk-notes:undated_memo.txt"]["reason"]

    with Client().store.read() as conn:
        rows = conn.execute("SELECT d.title, d.available_at, d.available_at_rule, c.available_at FROM documents d "
                            "JOIN chunks c USING (doc_id) WHERE d.source = 'desk-notes' ORDER BY d.title").fetchall()
    assert [r[0] for r in rows] == ["buyback", "margin outlook"]
    assert rows[1][1] == rows[1][3] == datetime(2021, 3, 5, 5)  # end of 2021-03-04 US/Eastern (EST)
    assert rows[0][2] == END_OF_DAY_RULE


def test_the_docs_show_this_very_connector():
    assert inspect.getsource(DeskNotes) in (REPO / "docs/datasets.md").read_text(encoding="utf-8")


def test_registry_refuses_bad_connectors(desk_notes):
    with pytest.raises(DatasetError, match="already registered"):
        registry.register(DeskNotes(desk_notes))

    class NoKind(DeskNotes):
        name = "no-kind"
        kind = "tweets"

    with pytest.raises(DatasetError, match="kind 'tweets' is not one of"):
        registry.register(NoKind(desk_notes))
    with pytest.raises(DatasetError, match="unknown dataset 'nope'; known: .*desk-notes"):
        registry.get_connector("nope")


def test_every_builtin_connector_is_complete():
    connectors = registry.all_connectors()
    assert len(connectors) == len(registry.CONNECTORS)
    for c in connectors:
        assert c.kind in KINDS and c.description and c.available_at_rule and c.mirror_prefix, c.name
        files = c.files()  # its manifest entry
        assert files and all(f.relpath.startswith(c.mirror_prefix) for f in files), c.name
        assert c.licences() and c.origins(PulledDataset(c.name, Path("."), files)), c.name
        for subset in c.subsets:  # every subset the help advertises selects files
            assert c.select(PullQuery(subset, None, Path("."))), (c.name, subset)


def test_record_kinds_parse_and_ingest_names_their_consumer(client):
    phrasebank = registry.get_connector("phrasebank")
    sentences = list(phrasebank.transform_data(client.pull("phrasebank")))
    assert len(sentences) > 4800 and {s.label for s in sentences} == {"negative", "neutral", "positive"}
    rounds = client.dataset_records("forecastbench")  # what the Forecasts page offers
    assert [r.forecast_date for r in rounds][:2] == ["2025-10-26", "2025-11-09"] and len(rounds) == 9
    assert all(r.questions.is_file() and r.resolutions and r.resolutions.is_file() for r in rounds)
    assert all(r.resolutions is None for r in client.dataset_records("forecastbench:question_sets"))
    with pytest.raises(DatasetError, match="dataset 'tatqa' holds documents, not records"):
        client.dataset_records("tatqa")
    for name in ("phrasebank", "forecastbench"):
        connector = registry.get_connector(name)
        assert isinstance(connector, RecordConnector)
        with pytest.raises(IngestError, match=f"dataset '{name}' {re.escape(connector.consumer)}"):
            client.ingest(dataset=name)


def test_price_connector_ingests_its_series(client):
    report = client.ingest(dataset="crypto-prices")
    assert [(o.item, o.reason) for o in report.outcomes] == [
        ("prices/btcusd_daily_2011_2022.csv (BTC)", "4154 daily bars 2011-08-18..2022-12-31"),
        ("prices/bitstamp_btc_eth_ltc_usd_daily.csv (ETH)", "788 daily bars 2017-11-09..2020-01-17"),
        ("prices/bitstamp_btc_eth_ltc_usd_daily.csv (LTC)", "925 daily bars 2017-06-25..2020-01-17"),
    ]
    assert report.ok and {o.outcome for o in report.outcomes} == {"added"}
    bars = client.prices("ETH")
    assert (bars["available_at"] - bars["ts"]).dt.days.unique().tolist() == [1]  # a close is known at bar end
    with client.store.read() as conn:
        sources = conn.execute("SELECT symbol, any_value(source) FROM prices GROUP BY symbol ORDER BY symbol").fetchall()
    assert sources == [("BTC", "btcusd_daily_2011_2022"), ("ETH", "bitstamp_btc_eth_ltc_usd_daily"),
                       ("LTC", "bitstamp_btc_eth_ltc_usd_daily")]


def test_no_dataset_is_named_outside_its_connector():
    """Ingestion, prices and the CLI read the registry: no string in them names a dataset or its files."""
    connectors = registry.all_connectors()
    name = re.compile(r"(?<![\w-])(%s)(?![\w-])" % "|".join(re.escape(c.name) for c in connectors))
    prefixes = [c.mirror_prefix for c in connectors]
    for path in ("fincortex/ingest/service.py", "fincortex/ingest/sources.py", "fincortex/prices.py",
                 "fincortex/cli/core.py"):
        source = (REPO / path).read_text(encoding="utf-8")
        strings = [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.STRING]
        found = [m for s in strings for m in name.findall(s)] + [p for s in strings for p in prefixes if p in s]
        assert not found, f"{path} names dataset(s) or their files: {found}"
