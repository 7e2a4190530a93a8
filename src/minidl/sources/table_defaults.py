"""The batch size and epochs a CSV run starts from when the user gives none, chosen from the table's rows.

The image lessons' batch of 256 is the whole of a 150-row table, so their 10 epochs would be 10
steps. A table run instead takes batches of about a sixteenth of its rows (8 to 256, a power of
two) and enough epochs for about ``STEPS`` steps (at least the lesson's, at most ``MAX_EPOCHS``);
the learning rate stays the lesson's. No torch here: the config asks before anything is imported.

>>> table_defaults("softmax", 150)
{'batch_size': 8, 'epochs': 67}
>>> table_defaults("linreg", 1_000_000)
{'batch_size': 256, 'epochs': 3}
"""
from __future__ import annotations

import math
import os

STEPS = 1000  # SGD steps over the training rows that bring the tables of ../shared/data/tables to scikit-learn's figure
MAX_EPOCHS = 100
TRAINING_SHARE = 0.8  # the share of a table's rows a run trains on (its default held-out share is 0.2)
LESSON_EPOCHS = {"linreg": 3, "softmax": 10, "mlp": 5}


def table_defaults(model: str, rows: int) -> dict:
    """Return {"batch_size", "epochs"} for ``model`` on a table of ``rows`` data rows."""
    batch = int(min(256, max(8, 2 ** round(math.log2(max(rows, 1) / 16)))))
    train = max(1, round(rows * TRAINING_SHARE))
    epochs = min(MAX_EPOCHS, max(LESSON_EPOCHS.get(model, 1), math.ceil(STEPS * batch / train)))
    return {"batch_size": batch, "epochs": epochs}


def count_rows(path) -> int | None:
    """Return the number of data rows of the CSV at ``path`` (its lines but the header), None if unreadable."""
    try:
        with open(os.path.expanduser(path), "rb") as f:
            lines, last = 0, b"\n"
            while chunk := f.read(1 << 24):
                lines, last = lines + chunk.count(b"\n"), chunk[-1:]
    except OSError:
        return None
    return max(0, lines + (last != b"\n") - 1)


def defaults_for(model: str, csv: str) -> dict:
    """Return the table defaults of ``model`` on the CSV at ``csv``, or {} when the file cannot be read."""
    rows = count_rows(csv)
    return {} if rows is None else table_defaults(model, rows)


def chosen_line(model: str, csv: str, batch_size: int, epochs: int) -> str | None:
    """Return the one line telling the user the batch size and epochs a run took from its table, or None when
    the run has others (given by the user)."""
    rows = count_rows(csv)
    if rows is None or table_defaults(model, rows) != {"batch_size": batch_size, "epochs": epochs}:
        return None
    return (f"{csv}: {rows} rows, so --batch-size {batch_size} --epochs {epochs} (chosen from the number of rows; "
            "give either flag to override)")
