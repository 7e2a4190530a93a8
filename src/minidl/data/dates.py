"""Dates in a table's cells (``2007-11-11``, ``2007/11/11``, with or without a time) as numbers.

A column of dates becomes three inputs, never one per date: the days since the training rows'
earliest date, the year and the month (1 to 12), so a model sees order, trend and season.

>>> import pandas as pd
>>> days = read_dates(pd.Series(["2007-11-11", "2008-01-02", None]))
>>> days.tolist()[:2], date_parts(days, origin=float(days[0])).tolist()[1]
([13828.0, 13880.0], [52.0, 2008.0, 1.0])
>>> read_dates(pd.Series(["11/11/2007", "2007-11-11"])) is None   # day-first or month-first: not a date here
True
"""
from __future__ import annotations

import numpy as np

# year first, as ISO 8601 writes it: the only order with no day/month ambiguity
DATE = r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
PARTS = ("days", "year", "month")  # the inputs a date column becomes: "Date Egg (days)", ...


def read_dates(texts) -> np.ndarray | None:
    """Return the days since 1970-01-01 (float64, NaN where missing) of a pandas Series of text cells that all
    hold year-first dates, else None."""
    import pandas as pd

    given = texts.notna().to_numpy()
    cells = texts.astype(str).str.strip().where(texts.notna())
    if not given.any() or not cells[given].str.match(DATE).all():
        return None
    stamps = pd.to_datetime(cells.str.replace("/", "-", regex=False), errors="coerce", format="mixed")
    if stamps[given].isna().any():  # 2007-13-45: the shape of a date, not a date
        return None
    days = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    return days.to_numpy(dtype=np.float64, na_value=np.nan)


def date_parts(days: np.ndarray, origin: float) -> np.ndarray:
    """Return (n, 3) float64: days since ``origin`` (days since 1970), year and month of each date in ``days``."""
    import pandas as pd

    stamps = pd.to_datetime(days, unit="D", origin="unix")
    return np.stack([days - origin, np.asarray(stamps.year, dtype=np.float64),
                     np.asarray(stamps.month, dtype=np.float64)], axis=1)
