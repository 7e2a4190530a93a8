"""The 1.0 edition's two helpers for building classes cell by cell: `add_to_class`, `HyperParameters`.

Both are the book's own kind of magic (STYLE.md, "What to avoid"): `add_to_class` sets a function
as a method of a class that already exists, and `save_hyperparameters` reads its caller's
arguments from the caller's frame. The 1.0 lessons are written around them, so `minidl.d2l`
provides them for the lessons; nothing else in minidl uses them.

>>> class Adam(HyperParameters):
...     def __init__(self, lr, beta, _scratch=None, verbose=False):
...         self.save_hyperparameters(ignore=['verbose'])
>>> opt = Adam(0.1, beta=0.9)
>>> opt.hparams, hasattr(opt, 'verbose')
({'lr': 0.1, 'beta': 0.9}, False)
"""
import inspect


def add_to_class(Class):
    """Return a decorator that sets the function it decorates as a method of `Class`, by its name.

    The method is found by every instance, old and new, and by every subclass that does not
    define its own (ordinary attribute lookup): `Trainer.fit` calls the `fit_epoch` a lesson
    added this way.

    >>> class A:
    ...     b = 1
    >>> @add_to_class(A)
    ... def do(self):
    ...     return self.b
    >>> A().do()
    1
    """
    def wrapper(function):
        setattr(Class, function.__name__, function)
        return function  # the book's returns None, which left the lesson's name unusable

    return wrapper


def _arguments(frame) -> dict:
    """Return {name: value} of the parameters of the function running in `frame`."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    values = frame.f_locals
    return {name: values[name] for name in code.co_varnames[:count] if name in values}


class HyperParameters:
    """The base class of objects that keep their constructor's arguments as attributes."""

    def save_hyperparameters(self, ignore=()):
        """Set each argument of the calling function as an attribute, and keep them in `self.hparams`.

        Leaves out `self`, the names in `ignore` and names starting with `_`. Only the caller's
        parameters are saved, not other local variables it made before the call.
        """
        caller = inspect.currentframe().f_back
        try:
            skip = {"self", *ignore}
            self.hparams = {name: value for name, value in _arguments(caller).items()
                            if name not in skip and not name.startswith("_")}
        finally:
            del caller  # a frame kept alive would hold every local of the caller
        for name, value in self.hparams.items():
            setattr(self, name, value)
