"""The lessons' synthetic data: linear regression's line and the weight-decay toy, polyreg's cubic."""
from __future__ import annotations

from dataclasses import dataclass

from minidl.options import option
from minidl.data.synthetic import MAX_DEGREE, POLY_SIZES, TOYS
from minidl.errors import ConfigError, check_choice, check_fits_in_memory, check_whole
from minidl.sources.base import EVAL_BATCH, RunData, Source


@dataclass(frozen=True)
class SyntheticOptions:
    """Which toy problem, how many examples of the line, polyreg's degree."""

    toy: str = option("line", "linreg's synthetic data: line (y = 2 x1 - 3.4 x2 + 4.2) or high-dim (the weight-decay "
                      "lesson: 200 inputs, w = 0.01, b = 0.05, 20 training and 100 test examples)", models=("linreg",))
    num_examples: int = option(1000, "linreg on the line toy: number of examples (and as many test examples)",
                               flag="--examples", models=("linreg",))
    degree: int = option(3, f"polyreg: degree of the polynomial fitted, 1 to {MAX_DEGREE} (3: the true cubic)",
                         metavar="D", models=("polyreg",))

    def check_toy(self) -> None:
        """Raise ConfigError for an unknown toy, or an example count or degree out of range."""
        check_choice("toy", self.toy, tuple(TOYS))
        check_whole("number of synthetic examples (--examples)", self.num_examples)
        check_whole("polynomial degree (--degree)", self.degree, low=1, high=MAX_DEGREE)
        if self.toy != "line" and (self.csv is not None or self.num_examples != 1000):
            raise ConfigError(f"--toy {self.toy} is its lesson's own data (20 training, 100 test examples): "
                              f"leave out --csv and --examples")


class Synthetic(Source):
    """Data drawn from a known truth: y = X w + b + noise (linreg), the cubic on x^i / i! (polyreg)."""

    options = SyntheticOptions

    def chosen(self, config) -> bool:
        return config.model in ("linreg", "polyreg")  # the registry asks the CSV table first

    def load(self, config, training, device) -> RunData:
        return (self._polynomial if config.model == "polyreg" else self._line)(config, training, device)

    def _line(self, config, training, device) -> RunData:
        from minidl.data.loader import Loader
        from minidl.data.synthetic import synthetic_data

        true_w, true_b, n_train, n_test = TOYS[config.toy]
        n_train, n_test = n_train or config.num_examples, n_test or config.num_examples  # None: --examples
        # X (n, d) and y (n, 1) float32, train and test, and the loader's copies
        check_fits_in_memory(f"--examples {config.num_examples}", 3 * (n_train + n_test) * (len(true_w) + 1) * 4)
        # high-dim's w starts N(0, 1) from the seed itself: data from that same stream would make it start
        # as the first training example, so high-dim draws from seed + 2 and seed + 3
        seed = config.seed if config.toy == "line" else config.seed + 2
        X, y = synthetic_data(true_w, true_b, n_train, seed=seed)
        X_test, y_test = synthetic_data(true_w, true_b, n_test, seed=seed + 1)
        shown_w = list(true_w) if len(set(true_w)) > 1 else f"{len(true_w)} x {true_w[0]}"
        return RunData(
            train=training(X, y), test=Loader(X_test, y_test, EVAL_BATCH, device=device),
            num_inputs=len(true_w), num_outputs=1, classifies=False, origin=self,
            source=f"synthetic: y = X w + b + noise, w={shown_w}, b={true_b}",
            truth={"true_w": list(true_w), "true_b": true_b},
        )

    def _polynomial(self, config, training, device) -> RunData:
        from minidl.data.loader import Loader
        from minidl.data.synthetic import polynomial_data, polynomial_truth

        n_train, n_test = POLY_SIZES
        # one draw, split as the lesson's; seed + 1: not the stream the initial weights come from
        X, y = polynomial_data(n_train + n_test, config.degree, seed=config.seed + 1)
        true_w, true_b = polynomial_truth(config.degree)
        return RunData(
            train=training(X[:n_train], y[:n_train]), test=Loader(X[n_train:], y[n_train:], EVAL_BATCH, device=device),
            num_inputs=config.degree, num_outputs=1, classifies=False, origin=self,
            source=f"synthetic: y = 5 + 1.2 x - 3.4 x^2/2! + 5.6 x^3/3! + noise; "
                   f"features x^i/i!, i = 1..{config.degree}",
            truth={"true_w": true_w, "true_b": true_b, "true_coefficients": [true_b, *true_w]},
        )

    def owns(self, recorded: dict) -> bool:
        return True  # the registry asks every other source first: a run with no data recorded drew its own

    def weights(self, data: RunData, w: list[float], b: float) -> dict:
        true_w, true_b = data.truth["true_w"], data.truth["true_b"]
        out = {"w": w, "b": b, **data.truth, "w_error": [wi - ti for wi, ti in zip(w, true_w)], "b_error": b - true_b}
        if "true_coefficients" in data.truth:  # polyreg: of x^0/0! (the bias), x^1/1!, ...
            out["coefficients"] = [b, *w]
        return out
