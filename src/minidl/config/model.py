"""The model part of a run's config: which model, which twin, its layers and their initialisation."""
from __future__ import annotations

from dataclasses import dataclass, field

from minidl.options import option
from minidl.errors import ConfigError, check_choice, check_dropout, check_whole
from minidl.lessons.choices import ACTIVATION_ALIASES, ACTIVATIONS, IMPLS, INITS

MODELS = ("linreg", "softmax", "mlp", "polyreg")
REGRESSORS = ("linreg", "polyreg")  # linear regression, on its inputs or on their powers x^i / i!: a w and a b


@dataclass(frozen=True)
class ModelPart:
    """The model: its kind, its twin, an MLP's layers, the initial weights' distribution."""

    model: str = field(default="mlp", metadata={"help": f"one of {', '.join(MODELS)}", "positional": True})
    impl: str = option("manual", f"{', '.join(IMPLS)}: autograd on plain tensors, torch.nn and torch.optim, "
                       "or gradients written by hand (manual: the fastest; all three are tested equal)")
    hidden: tuple[int, ...] = option((256,), "MLP hidden layer widths", metavar="WIDTH", models=("mlp",))
    activation: str = option("relu", f"MLP activation: {', '.join(ACTIVATIONS)}", models=("mlp",))
    dropout: tuple[float, ...] = option((), "MLP: dropout probability per hidden layer, 0 <= P < 1, e.g. "
                                        "--hidden 256 256 --dropout 0.2 0.5 (default: none)", metavar="P",
                                        models=("mlp",))
    init: str | None = option(None, f"weight initialisation: {', '.join(INITS)} (default normal: N(0, 0.01) on "
                              "every parameter; standard_normal: N(0, 1) weights, zero biases, the high-dim toy's)")

    def check_model(self) -> None:
        """Raise ConfigError for an unknown model, twin, init or activation, or layers that cannot be."""
        check_choice("impl", self.impl, IMPLS)
        check_choice("init", self.init, INITS)
        check_choice("activation", self.activation, ACTIVATIONS, aliases=ACTIVATION_ALIASES)
        if self.model == "mlp" and not self.hidden:
            raise ConfigError("an MLP needs at least one hidden layer, e.g. --hidden 256")
        for width in self.hidden:
            check_whole("hidden layer width (--hidden)", width)
        if self.dropout:
            check_dropout(self.dropout, len(self.hidden))
