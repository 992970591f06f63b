"""Date ranges of a request, parsed once with errors that say what to change."""

from __future__ import annotations

import pandas as pd


def parse_dates(dates: tuple[str, str] | list[str]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(start, end)`` as UTC-naive timestamps; ``end`` is exclusive, as in Earth Engine's
    ``filterDate``.

    Raises
    ------
    ValueError
        Not a pair, an unparseable date, or an empty or inverted range.
    """
    if isinstance(dates, str) or len(dates) != 2:
        raise ValueError(
            f"dates must be a pair (start, end) such as ('2021-07-01', '2021-08-01'), not {dates!r}"
        )
    try:
        start, end = (pd.Timestamp(d) for d in dates)
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot read the dates {dates!r} as YYYY-MM-DD: {error}") from None
    start, end = (t.tz_convert(None) if t.tzinfo else t for t in (start, end))
    if end <= start:
        raise ValueError(
            f"the date range {dates[0]} .. {dates[1]} is empty or inverted: the end is exclusive "
            "(as in Earth Engine's filterDate) and must come after the start"
        )
    return start, end
