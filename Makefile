# rnn_lit: the two commands of the README, and a few helpers.
#   make docs   build the site into _site/ from executed copies of the notebooks
#   make test   the whole suite: sync check, nbdev_test, pytest tests/
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0

.PHONY: install test nbtest pytest sync export docs readme lab bench clean

$(STAMP): setup.py settings.ini .ci/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c .ci/constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# export the library from the notebooks and clean the notebooks (what to run before each commit)
export: $(STAMP)
	$(VENV)/bin/nbdev_export
	$(VENV)/bin/nbdev_clean
	$(PY) docs/readme.py

sync: $(STAMP)
	$(PY) -m pytest -q tests/test_sync.py

nbtest: $(STAMP)
	$(VENV)/bin/nbdev_test --n_workers 2 --timing

pytest: $(STAMP)
	$(PY) -m pytest -q --durations=25 tests --ignore=tests/test_sync.py

test: $(STAMP)
	$(PY) -m pytest -q tests/test_sync.py
	$(VENV)/bin/nbdev_test --n_workers 2 --timing
	$(PY) -m pytest -q --durations=25 tests --ignore=tests/test_sync.py

docs: $(STAMP)
	$(PY) docs/build.py

readme: $(STAMP)
	$(PY) docs/readme.py

# JupyterLab on nbs/ with rnn_lit installed in editable mode (root, as in containers, needs --allow-root)
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=nbs $$([ "$$(id -u)" = 0 ] && echo --allow-root)

bench: $(STAMP)
	$(PY) tests/bench/run.py

clean:
	rm -rf _build _site _proc _docs tests/screenshots
