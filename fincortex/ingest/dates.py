"""Point-in-time rules: when a piece of information became public (`available_at`, naive UTC).

Rules (also stored per document in `available_at_rule`, so an audit can see how each was derived):
- exact timestamp given (with time of day): that instant, converted to UTC (US/Eastern assumed when the
  source states no zone, since all bundled sources are US market news);
- date only: the end of that day in US/Eastern, i.e. the next day 05:00 UTC (conservative: the
  information may have come out any time that day);
- nothing given (a user's file): the ingestion time — the system cannot have known it earlier.
Dataset-specific rules (earnings calls, 10-Ks, ...) live in sources.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import parser as date_parser

EASTERN = ZoneInfo("America/New_York")
END_OF_DAY_RULE = "date only: end of that day US/Eastern (next day 05:00 UTC)"
_NO_TIME_SENTINELS = (datetime(2000, 1, 1, 0, 0, 0), datetime(2001, 2, 2, 1, 1, 1))


def to_naive_utc(moment: datetime, assume: ZoneInfo = EASTERN) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=assume)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def end_of_day(day: datetime) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(days=1, hours=5)


def parse_when(text: str) -> datetime:
    """Parse a stated date or timestamp; date-only values get the end-of-day rule."""
    cleaned = " ".join(str(text).replace(" ET ", " ").split())
    try:
        # parse twice with different defaults: fields that differ were not in the text
        first = date_parser.parse(cleaned, default=_NO_TIME_SENTINELS[0], fuzzy=True)
        second = date_parser.parse(cleaned, default=_NO_TIME_SENTINELS[1], fuzzy=True)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"cannot read date {text!r}: {exc}") from None
    if first.date() != second.date():
        raise ValueError(f"cannot read date {text!r}: no full day, month and year")
    has_time = (first.hour, first.minute) == (second.hour, second.minute)
    if not has_time:
        return end_of_day(first)
    return to_naive_utc(first)


def available_from(published: datetime | None, ingested_at: datetime | None) -> tuple[datetime, str]:
    if published is not None:
        return published, "stated publication time (UTC)"
    now = ingested_at or datetime.now(timezone.utc).replace(tzinfo=None)
    return now, "no date given: ingestion time"


def parse_cli_date(text: str) -> datetime:
    """--published-at / --as-of values: a date (end of that day) or an ISO timestamp."""
    return parse_when(text)
