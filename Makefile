# Two commands after a clone: `make run` (the main job on the embedded store) and `make test`.
# Everything is installed into .venv in this directory; nothing outside it is touched.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
UV_VERSION := 0.13.9
PIP_INSTALL = $(UV) pip install --quiet --python $(BIN)/python -c constraints.txt
# Local Prefect server (make server/deploy/worker/serve/stop): 127.0.0.1:$(PREFECT_PORT),
# its state in var/prefect (prefect.toml), pidfiles in var/run, logs in var/log.
PREFECT_PORT ?= 4200
LOCAL  = $(BIN)/python -m deployments.local --port $(PREFECT_PORT)

.DEFAULT_GOAL := help
.PHONY: help run test lint install install-dev browser lock bench clean server deploy worker serve stop

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

server: install  ## start a local Prefect server in the background (UI on http://127.0.0.1:4200; PREFECT_PORT=N for another port)
	$(LOCAL) server

deploy: install  ## create the work pool (and store-writes limit) if missing, then deploy all of prefect.yaml
	PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api $(BIN)/python -m deployments.server_setup
	PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api $(BIN)/prefect deploy --all --no-prompt

worker: install  ## start a worker for the movie-ratings pool in the background
	$(LOCAL) worker

serve: install  ## serve every deployment from this one process, no work pool (Ctrl-C stops)
	$(LOCAL) serve

stop:  ## stop what server, worker and serve started (by their pidfiles in var/run)
	@$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) -m deployments.local stop

clean: stop  ## stop the local processes, remove .venv and all local state (var/)
	rm -rf $(VENV) var
