"""Turn SDK results (dataclasses, pandas frames, numpy values, datetimes) into JSON-ready values.

Why: job results cross a process boundary as JSON files, and pages render tables from plain
records, so every page sees the same shape whether a result came from a worker or a direct call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from pathlib import Path
from typing import Any


def to_jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, dt.timedelta):
        return obj.total_seconds()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    # pandas / numpy without importing them here
    if hasattr(obj, "to_dict") and type(obj).__name__ == "DataFrame":
        frame = obj.reset_index() if _has_named_index(obj) else obj
        return [to_jsonable(r) for r in frame.to_dict(orient="records")]
    if hasattr(obj, "to_dict") and type(obj).__name__ == "Series":
        return {str(k): to_jsonable(v) for k, v in obj.to_dict().items()}
    if type(obj).__name__ == "Timestamp":
        return None if str(obj) == "NaT" else obj.isoformat()
    if type(obj).__name__ == "NaTType":
        return None
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy array or scalar
        return to_jsonable(obj.tolist())
    if hasattr(obj, "model_dump"):  # pydantic
        return to_jsonable(obj.model_dump())
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    if hasattr(obj, "__dict__"):
        return {k: to_jsonable(v) for k, v in vars(obj).items() if not k.startswith("_")}
    return str(obj)


def _has_named_index(frame: Any) -> bool:
    names = [n for n in getattr(frame.index, "names", []) if n is not None]
    return bool(names)
