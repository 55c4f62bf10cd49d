"""Saving and loading a model's fitted pipeline, with clear errors for broken files."""

from __future__ import annotations

import pickle
import subprocess
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from movie_ratings.errors import DataError


def save_pipeline(pipeline: Any, path: Path) -> Path:
    """Write the fitted pipeline (preprocessing + estimator) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, path, compress=3)
    return path


def load_pipeline(path: Path) -> Any:
    """Load a fitted pipeline saved by :func:`save_pipeline`.

    Raises:
        DataError: the file is missing, truncated or not a model.
    """
    if not path.is_file():
        raise DataError(f"model file {path} is missing")
    try:
        pipeline = joblib.load(path)
    except (EOFError, pickle.UnpicklingError, ValueError, KeyError, IndexError, OSError,
            AttributeError, ModuleNotFoundError, TypeError) as exc:
        raise DataError(f"model file {path} is corrupt or unreadable: {type(exc).__name__}: {exc}") from None
    if not hasattr(pipeline, "predict"):
        raise DataError(f"model file {path} does not hold a model (got {type(pipeline).__name__})")
    return pipeline


def predict_ratings(pipeline: Any, rows: Any) -> np.ndarray:
    """Predicted ratings, clipped to IMDb's 1-10 scale."""
    return np.clip(np.asarray(pipeline.predict(rows), dtype=np.float64), 1.0, 10.0)


def code_commit(repo: Path | None = None) -> str:
    """The git commit of the running code, or ``unknown`` outside a checkout."""
    repo = repo or Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10)
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
