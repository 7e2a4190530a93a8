"""`IPython.display.set_matplotlib_formats`, which IPython 8 removed, back for the lessons that call it.

The Chinese course's linear-regression lesson writes ``display.set_matplotlib_formats('svg')``;
on a current IPython that is an AttributeError. Importing `minidl.d2l` puts the name back,
delegating to matplotlib-inline (which ships with ipykernel), where IPython is installed and
lacks it.
"""
import importlib.util


def set_matplotlib_formats(*formats, **kwargs):
    """Make Jupyter's inline backend draw figures in `formats` ('png', 'svg', 'retina', ...)."""
    from matplotlib_inline import backend_inline

    backend_inline.set_matplotlib_formats(*formats, **kwargs)


def install() -> bool:
    """Return True after adding set_matplotlib_formats to IPython.display where it is missing."""
    if importlib.util.find_spec("IPython") is None or importlib.util.find_spec("matplotlib_inline") is None:
        return False
    from IPython import display

    if not hasattr(display, "set_matplotlib_formats"):
        display.set_matplotlib_formats = set_matplotlib_formats
    return True
