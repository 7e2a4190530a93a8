"""Numbers as people write them in a table's cells: ``1,234`` and ``1 234``, ``12%``, ``$3.50`` and
``3.50 EUR``, ``TRUE``/``FALSE`` and ``yes``/``no``.

A column converts only when every cell it holds (missing cells aside) reads one way: all yes/no
words, or all numbers in one unit (percent, or one currency, or none), so ``1,5`` (a decimal comma)
or a column of euros beside dollars stays text. :func:`read_formatted` returns the numbers and a
few words on what it read, for the one-line notice a converted column gets.

>>> import pandas as pd
>>> values, how = read_formatted(pd.Series(["1,234", "12", "1 000 000"]))
>>> values.tolist(), how
([1234.0, 12.0, 1000000.0], 'thousands separators (1,234 -> 1234)')
>>> read_formatted(pd.Series(["12%", "7.5%"]))[0].tolist()
[0.12, 0.075]
>>> read_formatted(pd.Series(["Yes", "no", None]))
(array([ 1.,  0., nan]), 'yes/no as 1/0')
>>> read_formatted(pd.Series(["1,5", "2"])) is None
True
"""
from __future__ import annotations

import numpy as np

WORDS = {"yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0}  # a column of one pair: 1 and 0
PAIRS = ({"yes", "no"}, {"true", "false"})
SYMBOLS = "$€£¥"
CODES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "CNY", "INR")
# one cell: a sign, a currency sign, digits (thousands in groups of 3 after , or a space), a percent or a code
CELL = (r"^(?P<sign>[-+]?)\s*(?P<symbol>[" + SYMBOLS + r"]?)\s*(?P<sign2>[-+]?)"
        r"(?P<digits>\d{1,3}(?:(?P<sep>[, \u00a0\u202f])\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)"
        r"\s*(?P<percent>%?)\s*(?P<code>(?:" + "|".join(CODES) + r")?)$")


def read_formatted(texts) -> tuple[np.ndarray, str] | None:
    """Return (float64 values, NaN where missing; what was read) for a pandas Series of text cells that all
    hold one kind of written number, else None."""
    given = texts.notna().to_numpy()
    cells = texts.astype(str).str.strip().where(texts.notna())
    if not given.any():
        return None
    words = _words(cells, given)
    if words is not None:
        return words
    parts = cells.str.extract(CELL)
    if parts["digits"][given].isna().any():  # a cell that is no number, however written
        return None
    units = {name: set(parts[name][given].unique()) for name in ("symbol", "percent", "code")}
    if any(len(found) > 1 for found in units.values()):
        return None  # 12% beside 0.12, $ beside EUR: no one unit for the column
    if _has_unit(units["symbol"]) and _has_unit(units["code"]):
        return None
    digits = parts["digits"].str.replace(r"[, \u00a0\u202f]", "", regex=True)
    values = digits.astype(float).to_numpy(dtype=np.float64)
    negative = ((parts["sign"] == "-") | (parts["sign2"] == "-")).to_numpy()
    values[negative] *= -1
    hows = []
    if parts["sep"][given].notna().any():
        hows.append("thousands separators (1,234 -> 1234)")
    if _has_unit(units["percent"]):
        values = values / 100
        hows.append("percentages (12% -> 0.12)")
    currency = [unit for unit in units["symbol"] | units["code"] if unit]
    if currency:
        hows.append(f"amounts in {currency[0]} as plain numbers")
    if not hows:
        return None  # plain numbers: the reader would have read them, so something else is wrong
    return values, ", ".join(hows)


def _words(cells, given) -> tuple[np.ndarray, str] | None:
    """Return (1/0 values, what) for a column of yes/no or true/false words, else None."""
    lower = cells.str.lower()
    found = set(lower[given].unique())
    pair = next((pair for pair in PAIRS if found <= pair), None)
    if pair is None:
        return None
    values = lower.map(WORDS).to_numpy(dtype=np.float64, na_value=np.nan)
    return values, f"{'/'.join(sorted(pair, reverse=True))} as 1/0"


def _has_unit(found: set) -> bool:
    return any(found)
