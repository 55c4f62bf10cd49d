# Two commands after a clone: `make run` (the main job on the embedded store) and `make test`.
# Everything is installed into .venv in this directory; nothing outside it is touched.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
UV_VERSION := 0.13.9
PIP_INSTALL = $(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt
# A second environment with the Hopsworks extra (its own lock: hopsworks 5.2 needs older
# protobuf, sqlalchemy and fsspec than the main environment's).
HW_VENV := .venv-hopsworks
HW_BIN  := $(HW_VENV)/bin
HW_INSTALL = $(HW_BIN)/uv pip install --quiet --compile-bytecode --python $(HW_BIN)/python -c constraints-hopsworks.txt
HW_TESTS := tests/unit/test_hopsworks_signatures.py tests/unit/test_hopsworks_adapter.py \
	tests/unit/test_doctor.py tests/contract tests/unit/test_local_store.py tests/unit/test_changes.py \
	tests/unit/test_upsert.py tests/unit/test_prefilter.py tests/integration/test_flows_on_every_backend.py

# Local Prefect server (make server/deploy/worker/serve/stop): 127.0.0.1:$(PREFECT_PORT),
# its state in var/prefect (prefect.toml), pidfiles in var/run, logs in var/log. It requires
# the auth string in var/prefect/auth_string; `make server` activates a profile with it.
PREFECT_PORT ?= 4200
LOCAL  = $(BIN)/python -m deployments.local --port $(PREFECT_PORT)

.DEFAULT_GOAL := help
.PHONY: help run test test-hopsworks lint install install-dev install-hopsworks browser lock bench bench-real soak clean server deploy worker serve stop

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[kaggle]'
	@mkdir -p var && mkdir -p -m 700 var/prefect  # prefect.toml's home (owner only); Prefect makes no parents
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

test: install-dev browser  ## lint and type-check, then run the whole test suite, then the Hopsworks checks
	$(BIN)/ruff check .
	$(BIN)/mypy  # movie_ratings/, tasks/, flows/ ([tool.mypy]); backends against their protocols
	$(BIN)/pytest
	$(MAKE) --no-print-directory test-hopsworks

$(HW_BIN)/python:
	$(PYTHON) -m venv $(HW_VENV)
	$(HW_BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(HW_VENV)/.installed: pyproject.toml constraints-hopsworks.txt | $(HW_BIN)/python
	$(HW_INSTALL) -e '.[kaggle,dev,hopsworks]'
	@# hops-deltalake and deltalake both install the module `deltalake`: put the Hopsworks
	@# build on disk whatever order they were installed in (hsfs needs its HopsFS support)
	$(HW_INSTALL) --reinstall-package hops-deltalake hops-deltalake
	$(HW_BIN)/python -m pip check --disable-pip-version-check
	@touch $@

install-hopsworks: $(HW_VENV)/.installed  ## second venv (.venv-hopsworks) with the hopsworks extra

test-hopsworks: $(HW_VENV)/.installed  ## SDK signature/type, adapter, doctor, contract, store and flow tests with the hopsworks extra
	$(HW_BIN)/pytest -q -p no:cacheprovider $(HW_TESTS)

lint: install-dev  ## ruff check and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

lock: $(BIN)/python  ## re-resolve constraints.txt and constraints-hopsworks.txt from pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --extra kaggle --universal --python-version 3.11 -q --no-header -o constraints.txt
	$(UV) pip compile pyproject.toml --extra dev --extra kaggle --extra hopsworks --python-version 3.11 -q --no-header -o constraints-hopsworks.txt

bench: install-dev  ## every stage on a 1.2M-row demo snapshot, checks the speed goals, then bench-real (writes bench/RESULTS.md; ~45 min)
	$(BIN)/python -m bench

bench-real: install-dev  ## the model on ~13k real films (critic ratings) vs the mean and the old recipe (its section of bench/RESULTS.md; ~1 min)
	$(BIN)/python -m bench.real

SOAK_DAYS ?= 60
soak: install-dev  ## the main job on SOAK_DAYS (60) simulated days, checked every day; prints sizes and times
	MOVIE_RATINGS_SOAK_DAYS=$(SOAK_DAYS) PREFECT_LOGGING_LEVEL=WARNING \
		$(BIN)/pytest tests/reliability/test_soak.py -q -s -p no:cacheprovider

server: install  ## start the local Prefect server with credentials (UI on http://127.0.0.1:4200; PREFECT_PORT=N for another port)
	$(LOCAL) server

deploy: install  ## create the work pool (and store-writes limit) if missing, then deploy all of prefect.yaml
	$(LOCAL) deploy

worker: install  ## start a worker for the movie-ratings pool in the background
	$(LOCAL) worker

serve: install  ## serve every deployment from this one process, no work pool (Ctrl-C stops)
	$(LOCAL) serve

stop:  ## stop what server, worker and serve started (by their pidfiles in var/run); deactivate the server's profile
	@$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) -m deployments.local stop

clean: stop  ## stop the local processes, remove .venv, .venv-hopsworks and all local state (var/)
	rm -rf $(VENV) $(HW_VENV) var
