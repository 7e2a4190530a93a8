# Two commands for a newcomer: `make run` and `make test`. Everything else builds on `setup`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0

.PHONY: setup run test bench clean

# The pinned CPU torch goes in first, so that `pip install -e .` finds torch satisfied instead of
# pulling a multi-GB CUDA build. The stamp file makes later calls instant.
setup: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: setup
	$(VENV)/bin/minidl train mlp

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
