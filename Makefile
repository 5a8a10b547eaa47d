# rnn_lit: the two commands of the README, and a few helpers.
#   make docs   build the site into _site/ from executed copies of the notebooks
#   make test   the whole suite: browser (found or installed first), then pytest tests/ in two processes; the
#               notebooks run once, in JupyterLab, and that run is also their notebook test and the site's outputs
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0
# Install: .ci/install.py, with uv where it can (about 20 s for the venv on 2 cores, pip about 60 s), else pip.
# Bytecode: the packages are installed without compiling them (a faster install), and each module is
# compiled once, at its first import, into the venv (never beside the sources). A PYTHONDONTWRITEBYTECODE in the
# environment would make every process compile again what it imports (torch alone: ~3 s of CPU a process).
export PYTHONDONTWRITEBYTECODE :=
export PYTHONPYCACHEPREFIX := $(abspath $(VENV))/pycache

.PHONY: install test browser-start browser nbtest pytest sync export docs readme lab bench clean

$(STAMP): setup.py settings.ini .ci/constraints.txt .ci/install.py
	@test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	$(PY) .ci/install.py
	@touch $(STAMP)

install: $(STAMP)

# export the library from the notebooks and clean the notebooks (what to run before each commit)
export: $(STAMP)
	$(VENV)/bin/nbdev_export
	$(VENV)/bin/nbdev_clean
	$(PY) docs/readme.py

# the browser tests' Chromium, from one place (tests/browser.py): found on this machine, else installed
# (playwright install, else Debian's package as root), else stop with what to install. browser-start runs
# first, before any test and before the venv: it stops at once when no way can work, and starts apt-get in
# the background when that is the way; browser waits for it and checks that the browser launches.
browser-start:
	@$(PYTHON) tests/browser.py --start

browser: $(STAMP)
	$(PY) tests/browser.py

sync: $(STAMP)
	$(PY) -m pytest -q tests/test_sync.py

# every notebook run by nbdev's own test_nb, as nbdev_test runs it (same skipped cells, IN_TEST=1), two at
# a time, each in a fresh process, with no browser; the outputs are kept in _build/exec for the site (`nbdev_test`
# alone gives the same verdict, without keeping them). `make test` does not run this: see `pytest`.
nbtest: $(STAMP)
	$(PY) docs/build.py --execute

# tests/ in two processes (tests/conftest.py orders them). Each notebook runs once, in JupyterLab in Chromium
# (tests/test_lab.py: two halves, one JupyterLab each): Run All as nbdev_test runs it (IN_TEST=1, the cells
# nbdev_test skips left out), no cell may fail, then the chapter's widget is moved; the outputs go to _build/exec,
# from which the site is built and checked (tests/test_site.py, after the notebooks). The sync checks, the CLI,
# DDP, install and module tests fill the rest of both processes.
pytest: $(STAMP) browser
	$(PY) -m pytest -q -n 2 --dist loadgroup --no-loadscope-reorder --durations=15 tests

test: browser-start $(STAMP) pytest

docs: $(STAMP)
	$(PY) docs/build.py

readme: $(STAMP)
	$(PY) docs/readme.py

# JupyterLab on nbs/ with rnn_lit installed in editable mode (root, as in containers, needs --allow-root)
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=nbs $$([ "$$(id -u)" = 0 ] && echo --allow-root)

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf _build _site _proc _docs
