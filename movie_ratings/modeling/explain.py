"""Why a film got its rating: each prediction split into contributions a person can read.

For boosted trees (XGBoost) the contributions are exact: XGBoost's ``pred_contribs`` (tree
SHAP) on the pipeline's transformed features, which with the base value add up to the
model's output. Other estimators get a model-agnostic fallback: starting from background
films (e.g. training films), the groups of features are switched to the film's values one at
a time, each group's contribution being the change it makes, averaged over the forward and
the reverse order and over the background films; these too add up exactly, to the
prediction minus the background films' mean prediction.

Transformed features are then grouped back to what a person knows of the film (its
director, its cast, its genres, its runtime, ...) and worded from the film's own values:
"director Jane Doe's earlier films +0.4", "genres Horror, Thriller −0.3", "no cast listed yet
−0.2". A feature this module does not know (a model newer than it) keeps its own name.

Only the rows asked for are explained; nothing is computed for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pyarrow as pa

from movie_ratings.schema import GENRE_FEATURES

#: Transformed-feature prefixes and plain names → the film column their group is about.
_GROUP_OF_PREFIX = {
    "directors_": "directors", "writers_": "writers", "producers_": "producers",
    "top_cast_": "top_cast", "companies_": "companies", "composers_": "composers",
    "cinematographers_": "cinematographers", "countries_": "countries",
    "spoken_languages_": "spoken_languages", "original_language_": "original_language",
}
_GROUP_OF_NAME = {
    "n_cast": "top_cast", "n_directors": "directors", "n_writers": "writers",
    "n_producers": "producers", "n_companies": "companies", "n_countries": "countries",
    "n_spoken_languages": "spoken_languages", "n_genres": "genres",
    **dict.fromkeys(GENRE_FEATURES, "genres"),
    "runtime": "runtime", "log_budget": "budget",
    "release_year": "release_date", "release_month": "release_date", "release_date_unknown": "release_date",
    "text_score": "text", "log_overview_chars": "text", "has_tagline": "text",
}
#: How a group's people are named: (singular owner, plural owner, noun when none is listed).
_PEOPLE = {
    "directors": ("director", "directors", "director"),
    "top_cast": ("cast", "cast", "cast"),
    "writers": ("writer", "writers", "writer"),
    "producers": ("producer", "producers", "producer"),
    "companies": ("production company", "production companies", "production company"),
    "composers": ("composer", "composers", "composer"),
    "cinematographers": ("cinematographer", "cinematographers", "cinematographer"),
}

#: Lists named by their values: (noun, how many values are named).
_LISTED = {"genres": ("genre", 3), "countries": ("production country", 2),
           "spoken_languages": ("spoken language", 2)}


def feature_group(name: str) -> str:
    """The group of one transformed feature (the film column it is about, or its own name)."""
    if name in _GROUP_OF_NAME:
        return _GROUP_OF_NAME[name]
    for prefix, group in _GROUP_OF_PREFIX.items():
        if name.startswith(prefix):
            return group
    return name


def _names(values: object) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values] if values.strip() else []
    return [str(v) for v in cast(Iterable[object], values) if v is not None and str(v).strip()]


def _listing(names: list[str], limit: int = 2) -> str:
    shown = ", ".join(names[:limit])
    return shown + (" …" if len(names) > limit else "")


def describe(group: str, film: dict[str, Any]) -> str:
    """A group's contribution in words, from the film's own values (``film``: a view row)."""
    if group in _PEOPLE:
        one, many, noun = _PEOPLE[group]
        people = _names(film.get(group))
        if not people:
            return f"no {noun} listed yet"
        if group == "top_cast":
            return f"cast's earlier films ({_listing(people)})"
        owner = f"{one} {people[0]}'s" if len(people) == 1 else f"{many}' ({_listing(people)})"
        return f"{owner} earlier films"
    if group in _LISTED:
        noun, shown = _LISTED[group]
        values = _names(film.get(group))
        return f"{noun} {_listing(values, shown)}" if values else f"no {noun} listed yet"
    if group == "original_language":
        language = _names(film.get("original_language"))
        return f"original language {language[0]}" if language else "original language not known"
    if group == "runtime":
        runtime = film.get("runtime")
        return f"runtime {runtime:.0f} min" if isinstance(runtime, int | float) and runtime > 0 else "runtime not known yet"
    if group == "budget":
        budget = film.get("budget")
        if isinstance(budget, int | float) and budget > 0:
            return f"budget ${budget / 1e6:,.1f}M" if budget >= 1e6 else f"budget ${budget:,.0f}"
        return "budget not known yet"
    if group == "release_date":
        release = film.get("release_date")
        return f"release in {release:%b %Y}" if release is not None else "release date not known yet"
    if group == "text":
        overview = film.get("overview")
        return "title, tagline and overview" if overview and str(overview).strip() else "no overview yet"
    return group.replace("_", " ")


@dataclass(frozen=True)
class Explanation:
    """One film's prediction in contributions.

    Attributes:
        base_value: where every prediction starts (the model's average output).
        contributions: (words, value) per group of features, largest first by size.
        prediction: ``base_value`` plus every contribution: the model's output before the
            1–10 clipping of :func:`movie_ratings.modeling.artifacts.predict_ratings`.
    """

    base_value: float
    contributions: tuple[tuple[str, float], ...]
    prediction: float

    def text(self, limit: int = 5) -> str:
        """The ``limit`` largest contributions in one line: ``genre Horror −0.3; …``."""
        return "; ".join(f"{label} {value:+.2f}".replace("-", "−") for label, value in self.contributions[:limit])


class NotExplainable(TypeError):
    """The model is not a fitted pipeline of preprocessing and an estimator."""


def _split(pipeline: Any) -> tuple[Any, Any]:
    """(preprocessing, estimator) of a fitted scikit-learn pipeline."""
    steps = getattr(pipeline, "steps", None)
    if not steps:
        raise NotExplainable(f"not a fitted pipeline of preprocessing and an estimator: {type(pipeline).__name__}")
    return pipeline[:-1], steps[-1][1]


def _booster(estimator: Any) -> tuple[Any, tuple[int, int]] | None:
    """The XGBoost booster behind the estimator and the trees its predictions use, or None."""
    model = getattr(estimator, "model_", estimator)  # EarlyStoppedBoosting wraps an XGBRegressor
    if not hasattr(model, "get_booster"):
        return None
    try:
        best = model.best_iteration  # set when early stopping chose the number of trees
    except AttributeError:
        best = None
    return model.get_booster(), (0, best + 1) if best is not None else (0, 0)


def tree_contributions(estimator: Any, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact per-feature contributions and base values for an XGBoost estimator, else None."""
    found = _booster(estimator)
    if found is None:
        return None
    from xgboost import DMatrix

    booster, trees = found
    contribs = booster.predict(DMatrix(matrix), pred_contribs=True, iteration_range=trees)
    return contribs[:, :-1].astype(np.float64), contribs[:, -1].astype(np.float64)


#: Background films the model-agnostic fallback starts from (cost: films × this × groups × 2).
BACKGROUND_SAMPLE = 32


def path_contributions(estimator: Any, matrix: np.ndarray, groups: Sequence[str],
                       background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model-agnostic contributions per group, adding up to prediction minus base value.

    From each background film, the row's groups are switched in one at a time, forward and
    in reverse order; a group's contribution is the mean change it makes over both orders
    and every background film, and the base value the mean prediction of the background
    films. Starting from real films (not from a mean point) keeps their unknown values as
    they are, which models with missing-value indicators depend on.

    Returns:
        (per-group contributions of shape (rows, groups), base values of shape (rows,)),
        groups in order of first appearance in ``groups``.

    Raises:
        ValueError: no background row.
    """
    if len(background) == 0:
        raise ValueError("the model-agnostic explanation needs at least one background film")
    if len(background) > BACKGROUND_SAMPLE:
        background = background[np.linspace(0, len(background) - 1, BACKGROUND_SAMPLE).astype(np.int64)]
    order = list(dict.fromkeys(groups))
    members = [np.array([g == group for g in groups]) for group in order]
    n, k, b = matrix.shape[0], len(order), len(background)
    sequences = (list(range(k)), list(range(k - 1, -1, -1)))
    # states[p, s, i, j]: pass p, step s, film i, background film j
    state = np.broadcast_to(background[None, :, :], (n, b, matrix.shape[1])).astype(matrix.dtype)
    steps = []
    for sequence in sequences:
        current = state.copy()
        steps.append(current.copy())
        for g in sequence:
            current[:, :, members[g]] = matrix[:, None, members[g]]
            steps.append(current.copy())
    stacked = np.stack(steps)  # (2 (k + 1), n, b, features)
    outputs = np.asarray(estimator.predict(stacked.reshape(-1, matrix.shape[1])), dtype=np.float64)
    outputs = outputs.reshape(2, k + 1, n, b)
    contributions = np.zeros((n, k))
    for p, sequence in enumerate(sequences):
        changes = np.diff(outputs[p], axis=0).mean(axis=2)  # (k, n): step effects, mean over background
        for step, g in enumerate(sequence):
            contributions[:, g] += changes[step] / 2
    return contributions, outputs[0, 0].mean(axis=1)


def explain(pipeline: Any, rows: pa.Table, *, background: pa.Table | None = None) -> list[Explanation]:
    """Explain the predictions of ``rows`` (view rows) by the fitted ``pipeline``.

    Args:
        pipeline: fitted preprocessing followed by an estimator.
        rows: the films to explain (only these are computed).
        background: films the model-agnostic fallback starts from (e.g. training films; at
            most :data:`BACKGROUND_SAMPLE` are used); ``rows`` themselves when None. XGBoost
            needs none.

    Raises:
        NotExplainable: ``pipeline`` is not a fitted pipeline.
    """
    if rows.num_rows == 0:
        return []
    preprocessing, estimator = _split(pipeline)
    matrix = np.asarray(preprocessing.transform(rows), dtype=np.float32)
    try:
        names = [str(n) for n in preprocessing.get_feature_names_out()]
    except (AttributeError, TypeError, ValueError):
        names = [f"feature_{i}" for i in range(matrix.shape[1])]
    groups = [feature_group(n) for n in names]
    order = list(dict.fromkeys(groups))
    exact = tree_contributions(estimator, matrix)
    if exact is not None:
        per_feature, base = exact
        per_group = np.column_stack([per_feature[:, [g == group for g in groups]].sum(axis=1) for group in order])
    else:
        back = matrix if background is None else np.asarray(preprocessing.transform(background), np.float32)
        per_group, base = path_contributions(estimator, matrix, groups, back)
    films = rows.to_pylist()
    out = []
    for i, film in enumerate(films):
        pairs = sorted(((describe(group, film), float(per_group[i, j])) for j, group in enumerate(order)),
                       key=lambda p: -abs(p[1]))
        out.append(Explanation(float(base[i]), tuple(pairs), float(base[i] + per_group[i].sum())))
    return out
