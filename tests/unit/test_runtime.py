"""Process-wide settings are applied by an explicit call at process start, never on import."""

from __future__ import annotations

import os
import subprocess
import sys

from movie_ratings.runtime import PROCESS_ENV, configure_process


def test_configure_process_sets_the_defaults() -> None:
    env: dict[str, str] = {}
    assert configure_process(env) is env
    assert env == PROCESS_ENV


def test_configure_process_keeps_an_explicit_value() -> None:
    env = {"OMP_WAIT_POLICY": "ACTIVE", "OTHER": "1"}
    configure_process(env)
    assert env == {"OMP_WAIT_POLICY": "ACTIVE", "OTHER": "1"}


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in PROCESS_ENV}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    return done.stdout.strip()


def test_importing_the_packages_changes_no_environment() -> None:
    code = "import os, movie_ratings, flows, tasks; print(os.environ.get('OMP_WAIT_POLICY'))"
    assert _run(code) == "None"


def test_the_cli_module_loads_no_openmp_library_before_main_configures_the_process() -> None:
    # The OpenMP runtime reads OMP_WAIT_POLICY once, when XGBoost or scikit-learn load it.
    code = ("import sys, movie_ratings.cli; "
            "print(sorted(m for m in ('xgboost', 'sklearn') if m in sys.modules))")
    assert _run(code) == "[]"
