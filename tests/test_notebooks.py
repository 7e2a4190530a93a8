"""The lessons in examples/notebooks run on a real Jupyter kernel: figures shown, epoch lines kept.

One ipykernel runs every notebook (a kernel start costs seconds), each from a `%reset -f`, on the
stand-in Fashion-MNIST and with MINIDL_EXAMPLE_EPOCHS=2: two epochs show that the live chart's
redraw keeps the first epoch's line.
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
NOTEBOOKS = EXAMPLES / "notebooks"
EPOCHS = 2
CLASSIFIER_LINE = re.compile(r"^epoch (\d+), loss \d+\.\d{4}, train acc \d\.\d{3}, test acc \d\.\d{3}$",
                             re.MULTILINE)
LINREG_LINE = re.compile(r"^epoch (\d+), loss \d+\.\d{6}$", re.MULTILINE)
FIGURE_TYPES = {"image/png", "image/svg+xml"}

# name: (how many figures it shows, its epoch lines); train_ch3's live chart counts once
LESSONS = {
    "linear_regression_scratch": (1, LINREG_LINE),  # the data's scatter plot
    "linear_regression_concise": (1, LINREG_LINE),  # the loss per epoch
    "softmax_regression_scratch": (2, CLASSIFIER_LINE),  # the chart, the predictions
    "softmax_regression_concise": (1, CLASSIFIER_LINE),
    "activation_functions": (6, None),  # relu, sigmoid, tanh and their gradients
    "mlp_scratch": (2, CLASSIFIER_LINE),  # the chart, predict_ch3's images
    "mlp_concise": (1, CLASSIFIER_LINE),
}


def read(name: str):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def is_figure(output) -> bool:
    return output.output_type == "display_data" and bool(FIGURE_TYPES & set(output.data))


@pytest.fixture(scope="module")
def kernel(tiny_fashion, tmp_path_factory):
    """Return (kernel manager, its working folder): one ipykernel of this Python for the module."""
    cwd = tmp_path_factory.mktemp("notebook-cwd")
    env = {**os.environ, "MINIDL_DATA_DIR": str(tiny_fashion), "MINIDL_EXAMPLE_EPOCHS": str(EPOCHS),
           "MINIDL_CACHE_DIR": str(tmp_path_factory.mktemp("notebook-cache"))}
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend, not a test run's Agg
    # No kernel folders: this Python's own ipykernel, whatever kernels the user has installed
    km = AsyncKernelManager(kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    run_sync(km.start_kernel)(env=env, cwd=str(cwd))
    yield km, cwd
    run_sync(km.shutdown_kernel)(now=True)


def execute(name: str, km):
    """Return notebook `name` as executed on `km`, after a `%reset -f` (fails on any cell's error)."""
    nb = read(name)
    nb.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
    client = NotebookClient(nb, km=km, timeout=120)
    try:
        client.execute()
    finally:
        if client.kc is not None:  # the kernel stays up for the next notebook
            client.kc.stop_channels()
    return nb


def test_every_lesson_has_a_notebook_committed_without_outputs():
    assert {p.stem for p in NOTEBOOKS.glob("*.ipynb")} == set(LESSONS) == {
        p.stem for p in EXAMPLES.glob("*.py")}
    for name in LESSONS:
        nb = read(name)
        nbformat.validate(nb)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert all(not cell.outputs and cell.execution_count is None for cell in code), name
        assert "import minidl.d2l as d2l" in code[0].source, name


@pytest.mark.parametrize("name", LESSONS)
def test_notebook_shows_its_figures_and_keeps_its_epoch_lines(name, kernel):
    km, cwd = kernel
    figures, epoch_line = LESSONS[name]
    nb = execute(name, km)
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert sum(map(is_figure, outputs)) == figures, outputs
    assert not any(out.output_type == "display_data" and not out.data for out in outputs)  # no empty display
    stderr = [out.text for out in outputs if out.output_type == "stream" and out.name == "stderr"]
    assert not stderr, stderr  # no warnings
    texts = " ".join(out.data.get("text/plain", "") for out in outputs if "data" in out and not is_figure(out))
    assert "<Axes" not in texts and "<Figure" not in texts, texts  # no figure objects printed as text
    stdout = "".join(out.text for out in outputs if out.output_type == "stream" and out.name == "stdout")
    if epoch_line is not None:
        assert [int(n) for n in epoch_line.findall(stdout)] == list(range(1, EPOCHS + 1)), stdout
    for cell in nb.cells:
        if "d2l.train_ch3(" in cell.source:  # the live chart on top, every epoch's line below it
            chart, *lines = cell.outputs
            assert is_figure(chart) and all(out.output_type == "stream" for out in lines), cell.outputs
            assert len(CLASSIFIER_LINE.findall("".join(out.text for out in lines))) == EPOCHS
    assert not list(cwd.iterdir())  # figures shown, none written as files

