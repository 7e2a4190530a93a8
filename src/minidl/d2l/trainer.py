"""The 1.0 edition's `DataModule` and `Trainer`, and its device helpers `cpu`, `gpu`, `num_gpus`.

`DataModule.get_tensorloader` is minidl's in-memory `Loader` (no worker processes, no per-example
Python); `Trainer.fit` is one loop, the recipe of `minidl.training.fit`: forward and loss (the model's
`training_step`), zero_grad, backward, step, then a validation pass without autograd. Both look
up their methods when called, so a lesson that adds its own `fit_epoch` or `get_dataloader` with
`add_to_class` gets its own.
"""
import torch
from torch import nn

from minidl.d2l.data import Batches, _global_seed
from minidl.d2l.hyper import HyperParameters
from minidl.data.loader import Loader
from minidl.errors import ConfigError
from minidl.training.memory import keep_freed_memory
from minidl.training.threads import free_cores, thread_team


def cpu():
    """Return the CPU device."""
    return torch.device("cpu")


def gpu(i=0):
    """Return the device of GPU i (cuda:i), whether or not it exists."""
    return torch.device(f"cuda:{i}")


def num_gpus():
    """Return how many CUDA GPUs this machine has."""
    return torch.cuda.device_count()


class DataModule(HyperParameters):
    """The base class of the 1.0 book's data: `train_dataloader()` and `val_dataloader()`.

    root: the data folder; None (the default, where the book has '../data') is minidl's: the
    folder MINIDL_DATA_DIR names, else the user cache. num_workers is kept for lessons that make
    their own torch DataLoader; minidl's loaders hold the data in memory and use no workers.
    """

    def __init__(self, root=None, num_workers=0):
        self.save_hyperparameters()

    def get_dataloader(self, train):
        raise NotImplementedError(f"{type(self).__name__} has no data: define "
                                  "get_dataloader(self, train)")

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)

    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        """Return re-iterable (X, y) batches of `self.batch_size` rows of the two `tensors`.

        Only the rows at `indices`; shuffled every pass when `train`, with a seed drawn from
        torch's generator (torch.manual_seed makes it repeatable).
        """
        if len(tensors) != 2:
            raise ConfigError(f"get_tensorloader got {len(tensors)} tensors; it batches two, "
                              "(X, y)")
        X, y = (t[indices] for t in tensors)
        return Batches(Loader(X, y, self.batch_size, shuffle=train, seed=_global_seed()))


def _devices(count):
    """Return the first `count` GPUs, refusing more than the machine has."""
    if count > num_gpus():
        raise ConfigError(f"Trainer(num_gpus={count}), but this machine has {num_gpus()} "
                          "CUDA GPUs: pass num_gpus=0 to train on the CPU")
    return [gpu(i) for i in range(count)]


class Trainer(HyperParameters):
    """Train a `Module` on a `DataModule` for `max_epochs` (on the first of `num_gpus` GPUs).

    gradient_clip_val > 0 rescales the gradients to that norm whenever theirs is larger.
    During `fit`: `epoch`, `train_batch_idx` and `val_batch_idx` count where the fit is;
    `num_train_batches` and `num_val_batches` are the loaders' lengths.
    """

    def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
        self.save_hyperparameters()
        self.gpus = _devices(num_gpus)

    def prepare_data(self, data):
        self.train_dataloader = data.train_dataloader()
        self.val_dataloader = data.val_dataloader()
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader) if self.val_dataloader is not None else 0

    def prepare_model(self, model):
        model.trainer = self
        model.board.xlim = [0, self.max_epochs]
        if self.gpus:
            model.to(self.gpus[0])
        self.model = model

    def fit(self, model, data):
        """Train `model` on `data` for max_epochs epochs, then draw its board one last time."""
        keep_freed_memory()  # as minidl's fit: each step's freed MBs kept for the next, no page faults
        self.prepare_data(data)
        self.prepare_model(model)
        self.optim = model.configure_optimizers()
        self.epoch = 0
        self.train_batch_idx = 0
        self.val_batch_idx = 0
        with thread_team(free_cores(torch.get_num_threads())):  # as minidl's fit: beside other work, the free cores
            for epoch in range(self.max_epochs):
                self.epoch = epoch  # the book's Module.plot reads it
                self.fit_epoch()
        model.board.flush()

    def prepare_batch(self, batch):
        """Return the batch on the trainer's GPU (unchanged on the CPU)."""
        if self.gpus:
            batch = [a.to(self.gpus[0]) for a in batch]
        return batch

    def fit_epoch(self):
        """Train one epoch on the training batches, then score the validation batches."""
        # --- train ---
        self.model.train()
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))  # forward, loss
            self.optim.zero_grad()
            loss.backward()
            with torch.no_grad():  # the 1.0 lessons' own optimizers step in place
                if self.gradient_clip_val > 0:
                    self.clip_gradients(self.gradient_clip_val, self.model)
                self.optim.step()
            self.train_batch_idx += 1
        # --- evaluate ---
        if self.val_dataloader is None:
            return
        self.model.eval()
        with torch.no_grad():
            for batch in self.val_dataloader:
                self.model.validation_step(self.prepare_batch(batch))
                self.val_batch_idx += 1

    def clip_gradients(self, grad_clip_val, model):
        """Rescale the gradients of `model`'s parameters to norm grad_clip_val if theirs is larger."""
        params = [p for p in model.parameters() if p.requires_grad and p.grad is not None]
        nn.utils.clip_grad_norm_(params, grad_clip_val)
