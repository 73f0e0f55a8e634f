"""Load daily OHLCV CSVs into the prices table.

Layouts understood (detected from the header):
- long:  timestamp|date, open, high, low, close, volume (any order, any case; e.g. Coinbase exports,
         Yahoo-style Date,Open,High,Low,Close,Volume; extra columns ignored);
- wide:  a date column then `SYM:open`, `SYM:high`, ... per symbol (tensortrade/Bitstamp exports);
         the `--symbol` picks the columns.
A bar's close is only known when the bar ends, so `available_at` = bar start + interval (1 day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd

from fincortex.store import Store

FIELDS = ("open", "high", "low", "close", "volume")
DATE_NAMES = ("timestamp", "date", "datetime", "time", "")


class PriceImportError(ValueError):
    """A prices file that cannot be imported, with the reason."""


@dataclass(frozen=True)
class PriceImport:
    symbol: str
    source: str
    rows: int
    skipped_empty: int
    first: str | None
    last: str | None


def read_price_csv(path: Path, symbol: str) -> tuple[pd.DataFrame, int]:
    """Normalise any supported layout to columns ts, open, high, low, close, volume."""
    if not path.is_file():
        raise PriceImportError(f"prices file {path} does not exist")
    try:
        raw = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise PriceImportError(f"{path}: not a readable CSV ({exc})") from None
    columns = {str(c).strip().lower().replace("unnamed: 0", ""): c for c in raw.columns}
    date_column = next((columns[n] for n in DATE_NAMES if n in columns), None)
    if date_column is None:
        raise PriceImportError(f"{path}: no date column (expected one of timestamp, date, datetime)")
    wide_prefix = f"{symbol.lower()}:"
    if any(name.startswith(wide_prefix) for name in columns):
        picked = {f: columns.get(wide_prefix + f) for f in FIELDS}
    elif any(":" in name for name in columns):
        found = sorted({name.split(":")[0].upper() for name in columns if ":" in name})
        raise PriceImportError(f"{path}: wide layout has no {symbol} columns (symbols present: {', '.join(found)})")
    else:
        picked = {f: columns.get(f) for f in FIELDS}
    missing = [f for f in ("close",) + ("open", "high", "low") if picked[f] is None]
    if missing:
        raise PriceImportError(
            f"{path}: missing column(s) {', '.join(missing)} for {symbol}; found {', '.join(map(str, raw.columns))}"
        )
    frame = pd.DataFrame({"ts": pd.to_datetime(raw[date_column], errors="coerce", utc=True)})
    for field in FIELDS:
        frame[field] = pd.to_numeric(raw[picked[field]], errors="coerce") if picked[field] is not None else None
    before = len(frame)
    frame = frame.dropna(subset=["ts", "close"])
    frame["ts"] = frame["ts"].dt.tz_convert(None)
    frame = frame.drop_duplicates(subset="ts", keep="last").sort_values("ts")
    if frame.empty:
        raise PriceImportError(f"{path}: no rows with a date and a close price for {symbol}")
    return frame, before - len(frame)


def import_prices(store: Store, path: Path, symbol: str, source: str | None = None) -> PriceImport:
    symbol = symbol.strip().upper()
    if not symbol:
        raise PriceImportError("a symbol is required (e.g. --symbol BTC)")
    frame, skipped = read_price_csv(Path(path), symbol)
    return write_bars(store, frame, symbol, source or Path(path).stem, skipped)


def write_bars(store: Store, bars: pd.DataFrame, symbol: str, source: str, skipped_empty: int = 0) -> PriceImport:
    """Store daily bars (from read_price_csv) with available_at = bar start + 1 day; same days are replaced."""
    frame = bars.copy()
    frame.insert(0, "symbol", symbol.strip().upper())
    frame["source"] = source
    frame["available_at"] = frame["ts"] + timedelta(days=1)
    with store.write() as conn:
        conn.register("_new_prices", frame)
        conn.execute(
            "INSERT OR REPLACE INTO prices (symbol, ts, open, high, low, close, volume, source, available_at) "
            "SELECT symbol, ts, open, high, low, close, volume, source, available_at FROM _new_prices"
        )
        conn.unregister("_new_prices")
    return PriceImport(frame["symbol"].iloc[0], source, len(frame), skipped_empty,
                       str(frame["ts"].iloc[0].date()), str(frame["ts"].iloc[-1].date()))
