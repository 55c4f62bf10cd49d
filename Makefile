# Two commands after a clone: `make run` (the main job on the embedded store) and `make test`.
# Everything is installed into .venv in this directory; nothing outside it is touched.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
UV_VERSION := 0.13.9
PIP_INSTALL = $(UV) pip install --quiet --python $(BIN)/python -c constraints.txt

.DEFAULT_GOAL := help
.PHONY: help run test lint install install-dev browser lock bench soak clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[kaggle]'
	@mkdir -p var/prefect  # prefect.toml's home; Prefect does not create missing parents
	@touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt $(VENV)/.installed
	$(PIP_INSTALL) -e '.[kaggle,dev]'
	@touch $@

install: $(VENV)/.installed  ## create .venv and install the project

install-dev: $(VENV)/.installed-dev  ## install the project with the test tools

run: install  ## run the main job on the demo feed into the embedded store (MOVIE_RATINGS_HOME, default ./var)
	$(BIN)/movie-ratings run

browser:  ## install Debian's chromium for the browser tests when missing
	scripts/ensure-chromium

test: install-dev browser  ## lint, then run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install-dev  ## ruff check
	$(BIN)/ruff check .

lock: $(BIN)/python  ## re-resolve constraints.txt from pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --extra kaggle --universal --python-version 3.11 -q --no-header -o constraints.txt

bench: install-dev  ## ingest benchmark on a 1.2M-row demo snapshot (writes bench/RESULTS.md)
	$(BIN)/python -m bench

SOAK_DAYS ?= 60
soak: install-dev  ## the main job on SOAK_DAYS (60) simulated days, checked every day; prints sizes and times
	MOVIE_RATINGS_SOAK_DAYS=$(SOAK_DAYS) PREFECT_LOGGING_LEVEL=WARNING \
		$(BIN)/pytest tests/reliability/test_soak.py -q -s -p no:cacheprovider

clean:  ## remove .venv and all local state (var/)
	rm -rf $(VENV) var
