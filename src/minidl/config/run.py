"""The run part of a config: the seed, the device and its threads, what is recorded and where (the run folder, TensorBoard, MLflow)."""
from __future__ import annotations

from dataclasses import dataclass

from minidl.options import option
from minidl.errors import ConfigError, check_choice, check_whole

MAX_THREADS = 1024
DEVICES = ("auto", "cpu", "cuda", "mps")
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes seeds in [0, 2**64); json and int64 fit 2**63
SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https", "file", "databricks")
OFF = "none"  # --mlflow none: no logging (how --resume stops a run's logging to a store that is gone)


@dataclass(frozen=True)
class RunPart:
    """Where and how the run goes: its seed and device, the extras it records, its folder."""

    seed: int = option(0, f"seed for initialisation and shuffling (0 to {MAX_SEED})")
    device: str = option("auto", f"{', '.join(DEVICES)} (auto: cuda, then mps, then cpu)")
    threads: int | None = option(None, "CPU threads to compute on (default: the cores other processes leave "
                                 "free as the run starts; a resume keeps the run's count)", metavar="N")
    grad_norms: bool = option(False, "record each layer's gradient norm, the epoch's mean over batches "
                              "(metrics.csv, grad_norms.png)")
    tensorboard: bool = option(False, "also write TensorBoard event files into RUN/tensorboard (the extra "
                               "'tensorboard'): tensorboard --logdir runs shows the runs side by side")
    mlflow: str | None = option(None, "also log the run to this MLflow tracking store, e.g. sqlite:///mlruns.db "
                                "or http://127.0.0.1:5000 (the extra 'mlflow'); none: no logging", metavar="URI")
    mlflow_experiment: str = option("minidl", "with --mlflow: the experiment to log into", metavar="NAME")
    out: str | None = option(None, "run folder (default runs/<model>-<timestamp>)")
    plots: bool = option(True, "skip the PNG figures", flag="--no-plots")

    def check_run(self) -> None:
        """Raise ConfigError for an unknown device, a seed out of range or a malformed --mlflow store."""
        check_choice("device", self.device, DEVICES)
        check_whole("seed (--seed)", self.seed, low=0, high=MAX_SEED)
        if self.threads is not None:
            check_whole("--threads", self.threads, low=1, high=MAX_THREADS)
        # the URI's form only (reaching the store is fit's); "none" -> None
        object.__setattr__(self, "mlflow", check_mlflow(self.mlflow, self.mlflow_experiment))


def check_uri(uri: str) -> str:
    """Return ``uri`` if it names an MLflow tracking store by a scheme MLflow knows, else raise ConfigError.

    >>> check_uri("sqlite:///mlruns.db")
    'sqlite:///mlruns.db'
    >>> check_uri("mlruns.db")
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: --mlflow mlruns.db is not a tracking URI: give one such as sqlite:///mlruns.db or http://127.0.0.1:5000
    """
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else ""
    if scheme not in SCHEMES or (scheme != "databricks" and "://" not in uri):
        raise ConfigError(f"--mlflow {uri} is not a tracking URI: give one such as sqlite:///mlruns.db or "
                          f"http://127.0.0.1:5000")
    if scheme == "sqlite" and not uri.startswith("sqlite:///"):
        raise ConfigError(f"--mlflow {uri}: a sqlite store is sqlite:///FILE (three slashes, then the file)")
    return uri


def check_mlflow(uri: str | None, experiment: str) -> str | None:
    """Return the ``--mlflow`` URI, None for none (``none``: a resumed run stops logging), else raise
    ConfigError for a malformed URI, an empty experiment, or an experiment without a URI.

    >>> check_mlflow("none", "minidl") is None
    True
    """
    if uri is None or uri == OFF:
        if experiment != "minidl" and uri is None:
            raise ConfigError("--mlflow-experiment names where --mlflow logs: add --mlflow URI")
        return None
    check_uri(uri)
    if not isinstance(experiment, str) or not experiment.strip():
        raise ConfigError(f"--mlflow-experiment must name an experiment, got {experiment!r}")
    return uri
