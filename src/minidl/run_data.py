"""The data a run trains on: its loaders, its facts, and how a saved run finds the same data again.

``load_run_data(config, device)`` turns a TrainConfig into a :class:`RunData` (Fashion-MNIST and its
kin, an image folder, a CSV table, the lessons' synthetic data, or arrays given to ``fit``), with a
validation split carved out when asked. ``RunData.facts()`` is what a checkpoint records of it (the
folder or table, a fingerprint of the split); ``check_same_data`` refuses other data on evaluate
and resume.
"""
from __future__ import annotations

import functools
import hashlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .checks import check_fits_in_memory
from .config import TEST_FRACTION, TrainConfig
from .data.arrays import check_arrays
from .data.idx_sets import DATASETS, read_set
from .data.loader import Loader
from .data.standardize import with_standardized
from .data.synthetic import POLY_SIZES, TOYS, polynomial_data, polynomial_truth, synthetic_data
from .data.tables import load_table
from .errors import ConfigError, DatasetError

EVAL_BATCH = 1024  # evaluation needs no small batches: fewer, larger matmuls are faster


@dataclass
class RunData:
    """The loaders and facts a run needs: input width, number of outputs, class names, provenance."""

    train: Loader
    test: Loader | None  # None: arrays given without a test set
    num_inputs: int
    num_outputs: int
    classifies: bool
    source: str
    class_names: tuple[str, ...] = ()
    val: Loader | None = None  # --val-fraction: the share of the training set held out (see with_validation)
    test_images: torch.Tensor | None = None  # uint8 (N, 28, 28) or (N, 3, size, size), for the predictions plot
    table: dict = field(default_factory=dict)  # CSV runs: feature names, target and standardizer
    dataset: str | None = None  # an IDX set's name (fashion-mnist, mnist, kmnist), or "images"
    data_root: str | None = None  # an IDX set: the folder it was read from, absolute
    images_root: str | None = None  # --images: the image folder, absolute
    labels_sha256: str | None = None  # which split that folder holds (see labels_fingerprint)
    notes: dict = field(default_factory=dict)  # for the summary: e.g. image counts, files skipped
    csv_path: str | None = None  # CSV runs: the table, absolute
    csv_sha256: str | None = None  # CSV runs: the SHA-256 of its bytes, so an edited table is caught
    test_csv_sha256: str | None = None  # --test-csv: that table's SHA-256
    in_memory: bool = False  # arrays given to fit(config, data=...), which no run folder can read again
    truth: dict = field(default_factory=dict)  # synthetic data: true_w, true_b (polyreg: true_coefficients too)
    pixels: dict = field(default_factory=dict)  # --standardize: each input's training mean and std (data.standardize)

    def facts(self) -> dict:
        """Return what a checkpoint needs to rebuild the model, read new inputs and find its data again."""
        facts = {"num_inputs": self.num_inputs, "num_outputs": self.num_outputs,
                 "class_names": list(self.class_names), "table": self.table}
        if self.dataset:
            facts.update(dataset=self.dataset)
        if self.data_root or self.images_root:
            place = {"data_root": self.data_root} if self.data_root else {"images": self.images_root}
            facts.update(place, labels_sha256=self.labels_sha256)
        if self.csv_path:  # an MLP may classify or regress a table: the loss to rebuild depends on it
            facts.update(csv=self.csv_path, csv_sha256=self.csv_sha256, classifies=self.classifies)
        if self.test_csv_sha256:
            facts.update(test_csv_sha256=self.test_csv_sha256)
        if self.in_memory:  # an MLP may classify or regress: the loss to rebuild depends on it
            facts.update(in_memory=True, classifies=self.classifies)
        if self.pixels:  # predictions standardise new images with them
            facts.update(pixels=self.pixels)
        return facts

    def describe_linreg(self, model) -> dict:
        """Return the learned weights (and, on synthetic data, the true ones and the errors)."""
        from .models import canonical_state

        state = canonical_state(model)
        w, b = state["w"].reshape(-1).tolist(), state["b"].reshape(-1).tolist()[0]
        out = {"w": w, "b": b}
        if self.table:
            # the model fits standardised columns: z_y = w . z_x + b, z = (value - mean) / std; in the
            # table's own units that is y = w' . x + b' with w'_j = std_y w_j / std_j
            (mean_y,), (std_y,) = self.table["target_standardizer"].values()
            x = self.table["standardizer"]
            w_own = [std_y * wj / sj for wj, sj in zip(w, x["std"])]
            b_own = mean_y + std_y * b - sum(wj * mj for wj, mj in zip(w_own, x["mean"]))
            target = f"log({self.table['target']})" if self.table.get("log_target") else self.table["target"]
            out = {"w": w_own, "b": b_own, "units": f"w and b in the table's own units: {target} "
                   f"= w . ({', '.join(self.table['features'])}) + b; the loss is in standardised "
                   f"units ({target} divided by its std {std_y:.6g})",
                   "w_standardised": w, "b_standardised": b, **self.table}
        elif self.truth:  # synthetic data: its true weights are known
            true_w, true_b = self.truth["true_w"], self.truth["true_b"]
            out.update({**self.truth, "w_error": [wi - ti for wi, ti in zip(w, true_w)], "b_error": b - true_b})
            if "true_coefficients" in self.truth:  # polyreg: of x^0/0! (the bias), x^1/1!, ...
                out["coefficients"] = [b, *w]
        out["w_norm"] = sum(wi * wi for wi in out["w"]) ** 0.5  # ||w||, which weight decay shrinks
        return out


def regression_scores(model, loader: Loader, table: dict) -> dict:
    """Return R^2 and RMSE of a table's regression on ``loader``, in the target's own units (log-RMSE and
    the R^2 of the log with ``--metric log-rmse``, whose model fits the log)."""
    from .data.tables import Standardizer

    target = Standardizer.from_dict(table["target_standardizer"])
    was_training = getattr(model, "training", False)
    model.eval()
    with torch.no_grad():
        pairs = [(model(X).double(), y.double()) for X, y in loader]
    model.train(was_training)
    y_hat, y = (target.inverse(torch.cat(t).cpu().reshape(-1, 1)) for t in zip(*pairs))
    r2 = 1 - float(((y - y_hat) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    rmse = float(((y - y_hat) ** 2).mean().sqrt())
    if table.get("log_target"):
        price_rmse = float(((y.exp() - y_hat.exp()) ** 2).mean().sqrt())
        return {"test_r2_log": r2, "test_log_rmse": rmse, "test_rmse": price_rmse}
    return {"test_r2": r2, "test_rmse": rmse}


def with_validation(load):
    """Return ``load`` (load_run_data) followed by carving ``config.val_fraction`` out of its training set.

    Written once around every data source: whatever load_run_data reads, a validation share of
    its training examples, seeded and stratified by class (a plain seeded share for a regressor),
    becomes ``RunData.val`` and leaves the training loader.
    """
    @functools.wraps(load)
    def loaded(config: TrainConfig, *args, **kwargs) -> RunData:
        data = load(config, *args, **kwargs)
        return carve_validation(data, config.val_fraction, config.seed) if config.val_fraction else data

    return loaded


def carve_validation(data: RunData, fraction: float, seed: int) -> RunData:
    """Return ``data`` with ``fraction`` of its training examples moved into ``data.val``, drawn with ``seed``."""
    from .data.split import random_split, stratified_split

    train = data.train
    y = train.y.cpu()
    kept, held = (stratified_split(y.numpy(), fraction, seed) if data.classifies
                  else random_split(len(y), fraction, seed))
    if len(held) == 0 or len(kept) == 0:
        raise ConfigError(f"--val-fraction {fraction:g} of {len(y)} training examples leaves "
                          f"{'no validation' if len(held) == 0 else 'no training'} examples; choose another share")
    kept, held = (torch.from_numpy(i).to(train.device) for i in (kept, held))
    data.train = Loader(train.X.index_select(0, kept), train.y.index_select(0, kept), train.batch_size,
                        shuffle=train.shuffle, drop_last=train.drop_last and len(kept) >= train.batch_size,
                        device=train.device, rank=train.rank, world_size=train.world_size, shift=train.shift)
    data.train.load_state_dict(train.state_dict())  # the shuffle generator, seeded as before
    data.val = Loader(train.X.index_select(0, held), train.y.index_select(0, held), EVAL_BATCH, device=train.device)
    data.notes = {**data.notes, "val_examples": len(held), "val_fraction": fraction}
    data.source += f"; {len(held)} training examples held out for validation"
    return data


@with_standardized  # after the validation carving: the statistics are the training examples' alone
@with_validation
def load_run_data(config: TrainConfig, device, arrays=None, class_names=None, *, rank: int = 0,
                  world_size: int = 1, batch_size: int | None = None) -> RunData:
    """Return the loaders for ``config``: Fashion-MNIST, the synthetic line, a CSV table, or ``arrays``.

    ``arrays``: ``(X, y)`` or ``(X_train, y_train, X_test, y_test)``, tensors or NumPy arrays (see
    minidl.data.arrays); ``class_names`` optionally names their classes. ``rank``, ``world_size``:
    the training loader yields this rank's shard, ``batch_size`` examples a batch (default
    ``config.batch_size``: a rank's share of the global batch when several train); every rank
    scores the whole test set.
    """
    def training(X, y) -> Loader:
        # Shuffled each epoch; a short last batch is dropped (different examples each epoch) when
        # there is a full one. At the MLP lesson's lr 0.5 that 96-image step, right before each
        # evaluation, made the final test accuracy swing: seeds 0-8 gave 0.77-0.87 with it and
        # 0.857-0.869 without it.
        return Loader(X, y, batch_size or config.batch_size, shuffle=True, seed=config.seed, device=device,
                      drop_last=len(X) >= config.batch_size, rank=rank, world_size=world_size,
                      shift=config.shift)

    if arrays is not None:
        if config.csv or config.data_dir or config.toy != "line":
            raise ConfigError("data= gives the arrays to train on; leave out csv, data_dir and toy, which name another data set")
        a = check_arrays(arrays, config.model, class_names)
        return RunData(
            train=training(a.X, a.y),
            test=None if a.X_test is None else Loader(a.X_test, a.y_test, EVAL_BATCH, device=device),
            num_inputs=a.num_inputs, num_outputs=a.num_outputs, classifies=a.classifies,
            source=a.describe(), class_names=a.class_names, in_memory=True,
        )
    if config.csv:
        return table_data(config, training, device)
    if config.model == "linreg":
        true_w, true_b, n_train, n_test = TOYS[config.toy]
        n_train, n_test = n_train or config.num_examples, n_test or config.num_examples  # None: --examples
        # X (n, d) and y (n, 1) float32, train and test, and the loader's copies
        check_fits_in_memory(f"--examples {config.num_examples}", 3 * (n_train + n_test) * (len(true_w) + 1) * 4)
        # high-dim's w starts N(0, 1) from the seed itself: data from that same stream would make it start
        # as the first training example. The line keeps seed and seed + 1 (its published numbers stand).
        seed = config.seed if config.toy == "line" else config.seed + 2
        X, y = synthetic_data(true_w, true_b, n_train, seed=seed)
        X_test, y_test = synthetic_data(true_w, true_b, n_test, seed=seed + 1)
        shown_w = list(true_w) if len(set(true_w)) > 1 else f"{len(true_w)} x {true_w[0]}"
        return RunData(
            train=training(X, y),
            test=Loader(X_test, y_test, EVAL_BATCH, device=device),
            num_inputs=len(true_w), num_outputs=1, classifies=False,
            source=f"synthetic: y = X w + b + noise, w={shown_w}, b={true_b}",
            truth={"true_w": list(true_w), "true_b": true_b},
        )
    if config.model == "polyreg":
        n_train, n_test = POLY_SIZES
        # one draw, split as the lesson's; seed + 1: not the stream the initial weights come from
        X, y = polynomial_data(n_train + n_test, config.degree, seed=config.seed + 1)
        true_w, true_b = polynomial_truth(config.degree)
        return RunData(
            train=training(X[:n_train], y[:n_train]),
            test=Loader(X[n_train:], y[n_train:], EVAL_BATCH, device=device),
            num_inputs=config.degree, num_outputs=1, classifies=False,
            source=f"synthetic: y = 5 + 1.2 x - 3.4 x^2/2! + 5.6 x^3/3! + noise; "
                   f"features x^i/i!, i = 1..{config.degree}",
            truth={"true_w": true_w, "true_b": true_b, "true_coefficients": [true_b, *true_w]},
        )
    if config.images:
        from .data.image_folder import load_image_folder

        images = load_image_folder(config.images, size=config.image_size, channels=config.channels,
                                   test_fraction=config.test_fraction, seed=config.seed,
                                   skip_bad=config.skip_bad_images)
        return RunData(
            train=training(images.X_train, images.y_train),
            test=Loader(images.X_test, images.y_test, EVAL_BATCH, device=device),
            num_inputs=config.channels * config.image_size ** 2, num_outputs=len(images.class_names), classifies=True,
            source=images.describe(), class_names=images.class_names, test_images=images.X_test,
            dataset="images", images_root=str(images.root), notes=images.counts(),
            labels_sha256=labels_fingerprint(images.y_train, images.y_test),
        )
    # a folder named by --data-dir must already hold the data: a typo never starts a download
    dataset = DATASETS[config.dataset]
    idx = read_set(dataset, config.data_dir, download=config.data_dir is None)
    return RunData(
        train=training(idx.X_train, idx.y_train),
        test=Loader(idx.X_test, idx.y_test, EVAL_BATCH, device=device),
        num_inputs=28 * 28, num_outputs=len(dataset.classes), classifies=True,
        source=f"{dataset.title} ({idx.root})",
        class_names=dataset.classes, test_images=idx.X_test, dataset=dataset.name,
        data_root=str(idx.root), labels_sha256=labels_fingerprint(idx.y_train, idx.y_test),
    )


def table_data(config: TrainConfig, training, device) -> RunData:
    """Return the RunData of a CSV run: its table encoded, its test rows held out (a share, a fold or a file)."""
    path = Path(config.csv).resolve()
    table = load_table(path, config.target, classify=config.task == "classify", fill_missing=config.fill_missing,
                       log_target=config.metric == "log-rmse")
    if config.test_csv:
        train, test = table, table.rows_of(config.test_csv)
    elif config.folds:  # one fold of K; cross_validate trains them all
        train, test = table.fold(config.fold or 1, config.folds, seed=config.seed)
    else:
        train, test = table.split(config.test_fraction or TEST_FRACTION, seed=config.seed)
    if train.classes:
        y_train, y_test = train.y, test.y
    else:  # a price near 1e6 would need an lr near 1e-12: fit the standardised target
        y_train, y_test = map(train.target_standardizer.transform, (train.y, test.y))
    held_out = (f"the rows of {config.test_csv}" if config.test_csv else f"fold {config.fold or 1} of {config.folds}"
                if config.folds else f"{len(test.y)} held-out rows")
    return RunData(
        train=training(train.X, y_train),
        test=Loader(test.X, y_test, EVAL_BATCH, device=device),
        num_inputs=train.X.shape[1], num_outputs=len(train.classes) or 1, classifies=bool(train.classes),
        source=f"{path}: {len(train.y)} training rows, tested on {held_out}", class_names=train.classes,
        table=train.facts(), csv_path=str(path), csv_sha256=file_fingerprint(path),
        test_csv_sha256=file_fingerprint(config.test_csv) if config.test_csv else None,
    )


def labels_fingerprint(y_train: torch.Tensor, y_test: torch.Tensor) -> str:
    """Return the SHA-256 of both label sequences: it tells one train/test split from another.

    The same 70,000 images split another way (the official split, or a course's own) give other
    label orders, so a run evaluated or resumed on other data is caught in a millisecond, without
    hashing 55 MB of images.
    """
    digest = hashlib.sha256()
    for labels in (y_train, y_test):
        digest.update(labels.to(torch.int64).contiguous().numpy().tobytes())
    return digest.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """Return the SHA-256 of a file's bytes (a CSV table): it tells the table a run trained on from an edited one."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_csv(recorded: dict, what: str) -> str | None:
    """Return the absolute path of the CSV table a checkpoint's facts say its run trained on (None if none).

    ``what`` names the checkpoint for the DatasetError raised when that table is gone.
    """
    path = recorded.get("csv")
    if path and not Path(path).is_file():
        raise DatasetError(f"{what} was trained on the table {path}, which is gone; "
                           f"pass --csv FILE with a copy of that table")
    return path


def recorded_data_dir(recorded: dict, what: str) -> str | None:
    """Return the folder a checkpoint's facts say its run trained on (None where none is recorded).

    Evaluating and resuming read the data from there, whatever MINIDL_DATA_DIR says today. ``what``
    names the checkpoint for the DatasetError raised when that folder is gone.
    """
    root = recorded.get("data_root")
    if root and not Path(root).is_dir():
        raise DatasetError(f"{what} was trained on {data_named(recorded)}, which is gone; "
                           f"pass --data-dir FOLDER with a copy of that data")
    return root


def data_named(recorded: dict) -> str:
    """Return e.g. ``the MNIST in /data/mnist`` or ``the image folder /data/pets``, from a checkpoint's facts."""
    if recorded.get("images"):
        return f"the image folder {recorded['images']}"
    return f"the {DATASETS[recorded.get('dataset', 'fashion-mnist')].title} in {recorded['data_root']}"


def check_same_data(recorded: dict, data: RunData, what: str) -> None:
    """Raise DatasetError when ``data`` is not the split a checkpoint's facts say it trained on.

    ``what`` names the checkpoint for the message. Checkpoints from before the fingerprint pass.
    """
    if recorded.get("in_memory") and not data.in_memory:
        raise DatasetError(f"{what} was trained on arrays given in Python, which a run does not keep; continue "
                           "it from Python with the same arrays: fit(config, data=..., resume=...)")
    if recorded.get("csv_sha256") and data.csv_sha256 and recorded["csv_sha256"] != data.csv_sha256:
        raise DatasetError(
            f"{what} was trained on the table {recorded['csv']}, but {data.csv_path} is not that table "
            f"(its contents differ: edited, or another file); its test rows would not be the run's. "
            f"Restore the original, or pass --csv FILE with a copy of it"
        )
    if recorded.get("test_csv_sha256") and data.test_csv_sha256 and recorded["test_csv_sha256"] != data.test_csv_sha256:
        raise DatasetError(f"{what} was tested on another --test-csv table (its contents differ: edited, or "
                           "another file); restore the original")
    expected = recorded.get("labels_sha256")
    if expected and data.labels_sha256 and expected != data.labels_sha256:
        root = recorded.get("images") or recorded["data_root"]
        raise DatasetError(
            f"{what} was trained on {data_named(recorded)}, but the data in "
            f"{data.data_root or data.images_root} is split differently (other labels in train and test): its "
            f"test set would not be the run's. Pass --data-dir {shlex.quote(root)} (or a copy of that folder)"
        )
