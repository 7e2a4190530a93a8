"""The d2l 1.0 lessons' notebooks (examples/notebooks/d2l-1.0) run on a real Jupyter kernel.

One ipykernel runs them all, each from a `%reset -f` and with minidl.d2l's classes as they were
before the previous notebook's `add_to_class` cells, on the stand-in Fashion-MNIST with
MINIDL_EXAMPLE_EPOCHS=2; the house-price notebook finds small tables in Kaggle's format where it
looks (their SHA-1s put in place of the real files', as tests/test_d2l_v1_lessons.py does).
"""
import os
import re
from pathlib import Path

import pytest

try:
    import ipykernel  # noqa: F401  (the kernel the notebooks run on)
    import nbformat
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient
    from nbclient.util import run_sync
except ImportError as error:
    pytest.skip(f"the notebook tests need nbclient, nbformat and ipykernel ({error}); "
                "install them with `pip install -e '.[dev]'`", allow_module_level=True)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = EXAMPLES / "d2l-1.0"
NOTEBOOKS = EXAMPLES / "notebooks" / "d2l-1.0"
FIGURE_TYPES = {"image/png", "image/svg+xml"}
# torch's own warning at the weight-decay lesson's float(l2_penalty(model.w)): the lesson's code
LESSON_WARNING = "Converting a tensor with requires_grad=True to a scalar"

NO_FIGURES = {"classification", "synthetic_regression_data"}  # lessons that draw nothing

# Put back what a previous notebook's add_to_class cells set on minidl.d2l's classes.
RESTORE_CLASSES = """\
import sys as _sys, minidl.d2l as _d2l
_saved = _sys.modules.setdefault("_d2l_classes_at_start", type(_sys)("_d2l_classes_at_start"))
if not hasattr(_saved, "classes"):
    _saved.classes = {c: dict(vars(c)) for c in vars(_d2l).values()
                      if isinstance(c, type) and c.__module__.startswith("minidl.d2l")}
for _c, _attrs in _saved.classes.items():
    for _k in set(vars(_c)) - set(_attrs):
        delattr(_c, _k)
    for _k, _v in _attrs.items():
        if vars(_c).get(_k) is not _v:
            setattr(_c, _k, _v)
del _sys, _d2l, _saved
"""


def script_cells(name):
    """Return the code of examples/d2l-1.0/{name}.py's `# %%` cells, the docstring left out."""
    return [cell.strip("\n") for cell in NOTEBOOKS.parent.parent.joinpath(
        "d2l-1.0", f"{name}.py").read_text().split("# %%\n")[1:]]


def is_figure(output) -> bool:
    return output.output_type == "display_data" and bool(FIGURE_TYPES & set(output.data))


@pytest.fixture(scope="module")
def kernel(tiny_fashion, tmp_path_factory, kaggle_house_tables):
    """Return (kernel manager, its working folder): one ipykernel of this Python for the module."""
    cwd = tmp_path_factory.mktemp("notebook-cwd")
    cache = tmp_path_factory.mktemp("notebook-cache")
    sha1s = kaggle_house_tables(cache / "d2l")
    env = {**os.environ, "MINIDL_DATA_DIR": str(tiny_fashion), "MINIDL_EXAMPLE_EPOCHS": "2",
           "MINIDL_CACHE_DIR": str(cache)}
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend, not a test run's Agg
    km = AsyncKernelManager(kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    run_sync(km.start_kernel)(env=env, cwd=str(cwd))
    yield km, cwd, sha1s
    run_sync(km.shutdown_kernel)(now=True)


def execute(nb, km):
    """Return notebook `nb` as executed on `km` after a `%reset -f` (fails on any cell's error)."""
    nb.cells.insert(0, nbformat.v4.new_code_cell("%reset -f\n" + RESTORE_CLASSES))
    client = NotebookClient(nb, km=km, timeout=300)
    try:
        client.execute()
    finally:
        if client.kc is not None:  # the kernel stays up for the next notebook
            client.kc.stop_channels()
    return nb


def test_every_script_has_its_notebook_with_the_same_cells_and_no_outputs():
    assert {p.stem for p in NOTEBOOKS.glob("*.ipynb")} == {p.stem for p in SCRIPTS.glob("*.py")}
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert [cell.source for cell in code] == script_cells(path.stem), path.stem
        assert all(not cell.outputs and cell.execution_count is None for cell in code), path.stem


@pytest.mark.parametrize("name", sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs_and_shows_its_figures_inline(name, kernel):
    km, cwd, sha1s = kernel
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        for book, table in sha1s.items():
            cell.source = cell.source.replace(book, table)
    nb = execute(nb, km)
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert any(map(is_figure, outputs)) == (name not in NO_FIGURES), outputs
    stderr = [out.text for out in outputs if out.output_type == "stream" and out.name == "stderr"]
    assert all(LESSON_WARNING in text for text in stderr), stderr
    texts = " ".join(out.data.get("text/plain", "") for out in outputs
                     if "data" in out and not is_figure(out))
    assert "<Figure" not in texts and "<Axes" not in texts, texts
    for cell in nb.cells:
        if re.search(r"^(trainer.fit|train_scratch)\(", cell.source, re.MULTILINE):
            assert any(map(is_figure, cell.outputs)), cell.outputs  # the board, live in the cell
    assert [p.name for p in cwd.iterdir()] in ([], ["submission.csv"])  # figures shown, not written
