"""Arrays given to ``fit(config, data=...)`` in Python: no file, so nothing a later command can read again."""
from __future__ import annotations

from minidl.errors import ConfigError, DatasetError
from minidl.sources.base import EVAL_BATCH, RunData, Source


class Arrays(Source):
    """``(X, y)`` or ``(X_train, y_train, X_test, y_test)``, tensors or NumPy arrays (see minidl.data.arrays)."""

    def chosen(self, config) -> bool:
        return False  # chosen by fit's data=, never by a config

    def load_arrays(self, config, arrays, class_names, training, device) -> RunData:
        """Return the arrays' RunData; ``class_names`` optionally names their classes."""
        from minidl.data.arrays import check_arrays
        from minidl.data.loader import Loader

        if config.csv or config.data_dir or config.toy != "line":
            raise ConfigError("data= gives the arrays to train on; leave out csv, data_dir and toy, "
                              "which name another data set")
        a = check_arrays(arrays, config.model, class_names)
        return RunData(
            train=training(a.X, a.y),
            test=None if a.X_test is None else Loader(a.X_test, a.y_test, EVAL_BATCH, device=device),
            num_inputs=a.num_inputs, num_outputs=a.num_outputs, classifies=a.classifies,
            source=a.describe(), origin=self, class_names=a.class_names,
            recorded={"in_memory": True, "classifies": a.classifies},  # an MLP classifies or regresses
        )

    def trained_on(self, config) -> str:
        return "arrays given in Python"

    def owns(self, recorded: dict) -> bool:
        return bool(recorded.get("in_memory"))

    def found_again(self, recorded: dict, where: str) -> dict:
        raise DatasetError(f"{where} was trained on arrays given in Python, which it does not keep; pass them "
                           "from Python: evaluate_run(run, X_test, y_test) scores it, fit(config, data=..., "
                           "resume=...) continues it")

    def check_same(self, recorded: dict, data: RunData, where: str) -> None:
        if data.origin is not self:
            raise DatasetError(f"{where} was trained on arrays given in Python, which a run does not keep; "
                               "continue it from Python with the same arrays: fit(config, data=..., resume=...)")
