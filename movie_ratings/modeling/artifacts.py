"""Saving and loading a model's fitted pipeline so that loading never runs code from the file.

A pickle (joblib) file can make its loader call any function, so a swapped model file would
run whatever it likes at ``predict``. Models are therefore saved with skops
(``skops.io``): its loader only rebuilds objects of types it is told to trust, and never
calls a function named by the file. The trusted types are

* skops' own defaults (scikit-learn estimators, numpy arrays, scalars and containers),
* the classes of this project's :mod:`movie_ratings.modeling` package (any class there:
  estimator wrappers added later are trusted without editing a list; functions are not),
* :data:`TRUSTED_TYPES`, the few other types our pipelines hold (an XGBoost booster is
  rebuilt by XGBoost's own C++ loader from its UBJSON model buffer, not by Python code).

Every file of a registered version has its SHA-256 in the registry's record of that version
(:func:`artifact_hashes`); :func:`load_version` checks them before anything is read, so a
file changed after registration is refused whatever its contents.
"""

from __future__ import annotations

import hashlib
import importlib
import subprocess
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from movie_ratings.errors import DataError

#: Every class of this package may be rebuilt from a model file.
TRUSTED_PACKAGE = "movie_ratings.modeling"
#: Types outside skops' defaults that the candidates' pipelines hold, each checked to be
#: safe to rebuild: plain data, or XGBoost's booster (loaded from its own model format).
TRUSTED_TYPES: frozenset[str] = frozenset({
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBRegressor",
})
_PICKLE_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"ZF")  # pickle, zlib (joblib's compress), gzip, old joblib
_RETRAIN = "retrain with `movie-ratings train` to register a model in the safe format"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artifact_hashes(directory: Path, *, exclude: Iterable[str] = ()) -> dict[str, str]:
    """SHA-256 of every file under ``directory`` by relative POSIX path (``exclude``: names)."""
    skip = set(exclude)
    return {p.relative_to(directory).as_posix(): sha256_file(p)
            for p in sorted(directory.rglob("*")) if p.is_file() and p.relative_to(directory).as_posix() not in skip}


def verify_artifacts(directory: Path, hashes: Mapping[str, str], *, what: str) -> None:
    """Refuse any recorded file of ``directory`` that is missing or differs from its hash.

    Raises:
        DataError: naming the file, before anything reads it.
    """
    if not hashes:
        raise DataError(f"{what} records no SHA-256 of its files (registered before models were "
                        f"hashed), so its files cannot be trusted: {_RETRAIN}")
    for name, expected in sorted(hashes.items()):
        path = directory / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise DataError(f"{what}: the record names a file outside its directory: {name!r}")
        if not path.is_file():
            raise DataError(f"{what}: file {path} is missing")
        found = sha256_file(path)
        if found != expected:
            raise DataError(
                f"{what}: file {path} does not match the SHA-256 recorded at registration "
                f"(recorded {expected[:12]}…, found {found[:12]}…): it was changed after "
                "registration, so it is not loaded. Restore the registered file or retrain "
                "(`movie-ratings train`)."
            )


def _is_trusted(type_name: str) -> bool:
    if type_name in TRUSTED_TYPES:
        return True
    module, _, name = type_name.rpartition(".")
    if module != TRUSTED_PACKAGE and not module.startswith(TRUSTED_PACKAGE + "."):
        return False
    # A class of ours is rebuilt from data; a function of ours named by a file would be
    # called by skops' loader, so only classes count.
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    return isinstance(obj, type) and obj.__module__ == module


def untrusted_types(type_names: Iterable[str]) -> list[str]:
    """The names of ``type_names`` that a model file may not contain."""
    return sorted(t for t in type_names if not _is_trusted(t))


def _refusal(path: Path, names: list[str]) -> str:
    return (f"model file {path} contains types that are not trusted to load: {', '.join(names)}. "
            f"If a new model class needs one, add it to TRUSTED_TYPES in {__name__} (only plain "
            f"data types, never functions), or define the class in {TRUSTED_PACKAGE}.")


def save_pipeline(pipeline: Any, path: Path) -> Path:
    """Write the fitted pipeline (preprocessing + estimator) to ``path`` with skops.

    Raises:
        DataError: the pipeline holds a type the loader would refuse (checked now, so
            training fails instead of registering a model inference cannot load).
    """
    import skops.io as sio

    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(pipeline, path, compression=zipfile.ZIP_DEFLATED, compresslevel=3)
    refused = untrusted_types(sio.get_untrusted_types(file=path))
    if refused:
        path.unlink()
        raise DataError(_refusal(path, refused))
    return path


def load_pipeline(path: Path) -> Any:
    """Load a fitted pipeline saved by :func:`save_pipeline`, refusing untrusted types.

    Call :func:`load_version` for a registered model: it checks the file's hash first.

    Raises:
        DataError: the file is missing, a pickle, corrupt, holds an untrusted type or is
            not a model; nothing in it has been loaded then.
    """
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    if not path.is_file():
        raise DataError(f"model file {path} is missing")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head.startswith(b"PK"):
        kind = "a pickle/joblib file" if head.startswith(_PICKLE_MAGIC) else "not a skops model file"
        raise DataError(f"model file {path} is {kind}: only skops files are loaded (a pickled "
                        f"model can run code when loaded); {_RETRAIN}")
    try:
        found = sio.get_untrusted_types(file=path)
        refused = untrusted_types(found)
        if refused:
            raise DataError(_refusal(path, refused))
        pipeline = sio.load(path, trusted=found)
    except DataError:
        raise
    except UntrustedTypesFoundException as exc:
        raise DataError(_refusal(path, sorted(map(str, exc.args[0])) if exc.args else [])) from None
    except Exception as exc:  # a damaged archive can fail in many ways; none is a bug of ours
        raise DataError(f"model file {path} is corrupt or unreadable: {type(exc).__name__}: {exc}") from None
    if not hasattr(pipeline, "predict"):
        raise DataError(f"model file {path} does not hold a model (got {type(pipeline).__name__})")
    return pipeline


def load_version(version: Any) -> Any:
    """The fitted pipeline of a registered :class:`~movie_ratings.registry.base.ModelVersion`,
    after checking every file of the version against the hashes recorded at registration.

    Raises:
        DataError: starting with ``model <name> v<n>:``, naming the refused file.
    """
    what = f"model {version.name} v{version.version}"
    verify_artifacts(version.path, version.card.artifacts, what=what)
    try:
        return load_pipeline(version.model_path)
    except DataError as exc:
        raise DataError(f"{what}: {exc}") from None


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
