"""ForecastBench (CC BY-SA 4.0): rounds of forecasting questions and, later, their resolutions.

One origin per round: its question set `question_sets/DATE-llm.json`, joined with the resolution set
`resolution_sets/DATE_resolution_set.json` when pulled. The questions themselves are read by
fincortex/agents/forecasting/forecastbench.py, which owns their type and ForecastBench's rules; the round's
forecast date is the point in time every forecast of it is made at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fincortex.datasets.connector import FORECAST_QUESTIONS, RecordConnector
from fincortex.datasets.fetch import PulledDataset
from fincortex.datasets.manifest import DatasetFile

QUESTIONS_SUFFIX = "-llm.json"
RESOLUTIONS_SUFFIX = "_resolution_set.json"


@dataclass(frozen=True)
class ForecastRound:
    forecast_date: str  # YYYY-MM-DD, the round's forecast due date
    questions: Path
    resolutions: Path | None  # None when the pull did not bring it (e.g. the question_sets subset)


class ForecastBench(RecordConnector):
    name = "forecastbench"
    kind = FORECAST_QUESTIONS
    description = "ForecastBench question and resolution sets (CC BY-SA 4.0)"
    available_at_rule = "each round is forecast as of its forecast date; questions resolve later"
    subsets = ("question_sets", "resolution_sets")
    mirror_prefix = "forecastbench/"
    consumer = "holds forecasting questions, used by `fincortex forecast`, not documents to search"

    def is_origin(self, file: DatasetFile) -> bool:
        return file.relpath.endswith(QUESTIONS_SUFFIX) and "/question_sets/" in file.relpath

    def transform_data(self, pulled: PulledDataset) -> Iterator[ForecastRound]:
        pulled_paths = {f.relpath for f in pulled.files}
        for file in self.origins(pulled):
            day = Path(file.relpath).name.removesuffix(QUESTIONS_SUFFIX)
            resolutions = f"{file.relpath.split('/question_sets/')[0]}/resolution_sets/{day}{RESOLUTIONS_SUFFIX}"
            yield ForecastRound(day, pulled.path(file),
                                pulled.root / resolutions if resolutions in pulled_paths else None)
