"""Drift: has the world moved since the model was trained?

Each feature is binned on a reference population and the share of rows per bin compared
with the current rows (the films being predicted) by the population stability index,
``PSI = Σ (current − reference) · ln(current / reference)`` over the bins. Rows where the
feature is unknown get a bin of their own, so a rise in missing values (no cast listed yet,
no runtime) shows up as drift rather than vanishing. The usual reading: below 0.1 stable,
0.1 to 0.25 a moderate shift (watch), 0.25 and above a major one (alert).

Two references. The model's **training films** are released films with full metadata, while
the films to predict are upcoming ones with sparse metadata by nature, so that comparison
is large on every run: it is shown, as information. The **baseline** is the films the model
was asked to predict when it was trained (the films to predict in the view at the model
card's store commit): the same kind of population, so a PSI against it means the films to
predict changed since training. The alert reads the baseline comparison and the label row
(real ratings of films rated since they were predicted against the training labels).

Pure functions on Arrow tables; the inference flow decides what to log and publish.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MODERATE = 0.1
MAJOR = 0.25
#: A PSI from here on the baseline comparison (or the label row) alerts; from MODERATE it is
#: to watch.
ALERT = MAJOR
WATCH = MODERATE
#: A share of zero would make the PSI infinite; empty bins count as this share instead.
MIN_SHARE = 1e-4
#: Below this many current rows a PSI is mostly sampling noise: reported, never alerted.
MIN_ROWS = 30
QUANTILE_BINS = 10
TOP_CATEGORIES = 10
MISSING = "missing"
OTHER = "other"

NUMERIC = "numeric"
#: Name of the label row of a report.
LABEL_FEATURE = "imdb_rating"
COUNT = "list length"
CATEGORICAL = "categorical"

#: Features compared, with how each is binned. Release year is left out on purpose: films to
#: predict are newer than the training films by construction.
FEATURES: tuple[tuple[str, str], ...] = (
    ("runtime", NUMERIC),
    ("budget", NUMERIC),
    ("release_month", CATEGORICAL),
    ("original_language", CATEGORICAL),
    ("genres", CATEGORICAL),
    ("n_cast", COUNT),
    ("n_directors", COUNT),
    ("n_writers", COUNT),
    ("n_producers", COUNT),
    ("n_companies", COUNT),
    ("n_genres", COUNT),
    ("overview_words", COUNT),
)

STABLE_LEVEL = "stable"
MODERATE_LEVEL = "moderate"
MAJOR_LEVEL = "major"
FEW_LEVEL = "too few films"


@dataclass(frozen=True)
class BinShare:
    """One bin of a feature: its label and the share of reference and current rows in it."""

    label: str
    reference: float
    current: float


@dataclass(frozen=True)
class FeatureDrift:
    """The drift of one feature.

    Attributes:
        feature: feature name (``imdb_rating`` for the label).
        kind: ``numeric``, ``list length`` or ``categorical``.
        psi: population stability index over the bins (missing values as a bin).
        reference_rows: rows compared on the reference side.
        current_rows: rows compared on the current side.
        reference_missing: share of reference rows where the feature is unknown.
        current_missing: share of current rows where it is unknown.
        bins: the bins, reference order.
    """

    feature: str
    kind: str
    psi: float
    reference_rows: int
    current_rows: int
    reference_missing: float
    current_missing: float
    bins: tuple[BinShare, ...]

    @property
    def level(self) -> str:
        """``stable``, ``moderate``, ``major``, or ``too few films`` (on either side) to judge."""
        if min(self.current_rows, self.reference_rows) < MIN_ROWS:
            return FEW_LEVEL
        return psi_level(self.psi)

    @property
    def alert(self) -> bool:
        """A major shift (PSI from 0.25) on enough films."""
        return self.level == MAJOR_LEVEL

    @property
    def watch(self) -> bool:
        """A moderate shift (PSI 0.1 to 0.25) on enough films."""
        return self.level == MODERATE_LEVEL


@dataclass(frozen=True)
class DriftReport:
    """Drift of the films of one inference run, feature by feature.

    Attributes:
        features: against the training rows (information: upcoming films are sparser than
            released ones by nature); the label row (new real ratings against the training
            labels) last.
        reference: what the training rows are, in words.
        current: what the current rows are, in words.
        baseline: the same features against the films predicted at training time (what
            the alert reads); empty when the baseline could not be computed.
        baseline_reference: what the baseline rows are, in words.
        baseline_problem: why there is no baseline (``baseline`` is then empty).
    """

    features: tuple[FeatureDrift, ...]
    reference: str
    current: str
    baseline: tuple[FeatureDrift, ...] = ()
    baseline_reference: str | None = None
    baseline_problem: str | None = None

    @property
    def label(self) -> FeatureDrift | None:
        """The label row: new real ratings against the training labels, if any."""
        return next((f for f in self.features if f.feature == LABEL_FEATURE), None)

    def baseline_of(self, feature: str) -> FeatureDrift | None:
        return next((f for f in self.baseline if f.feature == feature), None)

    @property
    def judged(self) -> tuple[FeatureDrift, ...]:
        """The comparisons the alert reads: each feature against the baseline, then the label row."""
        label = self.label
        return (*self.baseline, *((label,) if label is not None else ()))

    @property
    def alerts(self) -> tuple[FeatureDrift, ...]:
        """Judged comparisons with a major shift (PSI from 0.25) on enough films."""
        return tuple(f for f in self.judged if f.alert)

    @property
    def watches(self) -> tuple[FeatureDrift, ...]:
        """Judged comparisons with a moderate shift (PSI 0.1 to 0.25) on enough films."""
        return tuple(f for f in self.judged if f.watch)

    def rows(self) -> list[dict[str, object]]:
        """One plain record per feature (for a table artifact or a log)."""
        out: list[dict[str, object]] = []
        for f in self.features:
            base = self.baseline_of(f.feature)
            out.append({"feature": f.feature, "kind": f.kind, "psi": round(f.psi, 4), "level": f.level,
                        "reference_rows": f.reference_rows, "current_rows": f.current_rows,
                        "reference_missing": round(f.reference_missing, 4),
                        "current_missing": round(f.current_missing, 4),
                        "psi_vs_baseline": None if base is None else round(base.psi, 4),
                        "level_vs_baseline": None if base is None else base.level,
                        "baseline_rows": None if base is None else base.reference_rows,
                        "baseline_missing": None if base is None else round(base.reference_missing, 4)})
        return out


def psi_level(psi: float) -> str:
    """The usual reading of a PSI: stable below 0.1, major from 0.25."""
    if psi >= MAJOR:
        return MAJOR_LEVEL
    if psi >= MODERATE:
        return MODERATE_LEVEL
    return STABLE_LEVEL


def psi(reference: Sequence[float] | np.ndarray, current: Sequence[float] | np.ndarray) -> float:
    """Population stability index of two distributions over the same bins (shares or counts).

    Raises:
        ValueError: the two have a different number of bins, or one has no mass.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.shape != cur.shape:
        raise ValueError(f"bins differ: {ref.shape[0]} reference, {cur.shape[0]} current")
    if ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("a distribution with no rows has no PSI")
    ref = np.maximum(ref / ref.sum(), MIN_SHARE)
    cur = np.maximum(cur / cur.sum(), MIN_SHARE)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


# --- binning ------------------------------------------------------------------------------


def _numbers(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Float values with NaN where unknown (null or NaN)."""
    return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)


def numeric_edges(reference: np.ndarray, bins: int = QUANTILE_BINS) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (repeated quantiles merged)."""
    known = reference[np.isfinite(reference)]
    if known.size == 0:
        return np.array([])
    return np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1]))


def _numeric_labels(edges: np.ndarray) -> list[str]:
    if edges.size == 0:
        return ["any value"]
    labels = [f"< {edges[0]:g}"]
    labels += [f"{lo:g} – {hi:g}" for lo, hi in pairwise(edges)]
    return [*labels, f"≥ {edges[-1]:g}"]


def numeric_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin (``len(edges) + 1`` bins), then the missing count last."""
    known = np.isfinite(values)
    counts = np.bincount(np.searchsorted(edges, values[known], side="right"), minlength=edges.size + 1)
    return np.append(counts, int((~known).sum()))


def count_bin(n: float) -> str:
    """Bins of a count by powers of two: ``0``, ``1``, ``2–3``, ``4–7``, … ``64+``."""
    n = int(n)
    if n <= 1:
        return str(max(n, 0))
    low = 1 << (n.bit_length() - 1)
    if low >= 64:
        return "64+"
    return f"{low}–{2 * low - 1}"


COUNT_LABELS = ("0", "1", "2–3", "4–7", "8–15", "16–31", "32–63", "64+")


def _categories(values: pa.ChunkedArray | pa.Array) -> tuple[list[str], int, int]:
    """Every category mention (list columns flattened), rows with none, and rows in all."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        lengths = pc.fill_null(pc.list_value_length(values), 0).to_numpy(zero_copy_only=False)
        flat = pc.list_flatten(values)
        mentions = [str(v) for v in flat.drop_null().to_pylist()]
        return mentions, int((lengths == 0).sum()), len(values)
    strings = pc.cast(values, pa.string())
    empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(strings), ""), True)
    mentions = [str(v) for v in strings.filter(pc.invert(empty)).to_pylist()]
    return mentions, int(pc.sum(empty).as_py() or 0), len(values)


def feature_values(rows: pa.Table, feature: str) -> pa.ChunkedArray:
    """The column compared for ``feature``; ``overview_words`` is derived from ``overview``.

    Raises:
        KeyError: the rows lack the column.
    """
    if feature == "overview_words":
        text = pc.utf8_trim_whitespace(pc.cast(rows["overview"], pa.string()))
        words = pc.list_value_length(pc.split_pattern_regex(text, r"\s+"))
        empty = pc.fill_null(pc.equal(text, ""), True)
        return pc.if_else(empty, 0, words)
    return rows[feature]


def feature_drift(feature: str, kind: str, reference: pa.ChunkedArray | pa.Array,
                  current: pa.ChunkedArray | pa.Array) -> FeatureDrift:
    """The PSI of one feature, binned on the reference side.

    Raises:
        ValueError: an unknown kind, or no rows on a side.
    """
    if len(reference) == 0 or len(current) == 0:
        raise ValueError(f"{feature}: no rows to compare ({len(reference)} reference, {len(current)} current)")
    if kind == NUMERIC:
        ref, cur = _numbers(reference), _numbers(current)
        edges = numeric_edges(ref)
        labels = [*_numeric_labels(edges), MISSING]
        ref_counts, cur_counts = numeric_counts(ref, edges), numeric_counts(cur, edges)
        ref_missing, cur_missing = ref_counts[-1] / ref.size, cur_counts[-1] / cur.size
    elif kind == COUNT:
        ref, cur = _numbers(reference), _numbers(current)
        labels = [*COUNT_LABELS, MISSING]
        ref_counts, cur_counts = (
            np.array([Counter(count_bin(v) for v in side[np.isfinite(side)])[label] for label in COUNT_LABELS]
                     + [int((~np.isfinite(side)).sum())])
            for side in (ref, cur))
        ref_missing, cur_missing = ref_counts[-1] / ref.size, cur_counts[-1] / cur.size
    elif kind == CATEGORICAL:
        ref_mentions, ref_none, ref_rows = _categories(reference)
        cur_mentions, cur_none, cur_rows = _categories(current)
        ref_counter, cur_counter = Counter(ref_mentions), Counter(cur_mentions)
        top = [name for name, _ in sorted(ref_counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORIES]]
        labels = [*top, OTHER, MISSING]
        kept = set(top)
        ref_counts = np.array([ref_counter[n] for n in top]
                              + [sum(c for n, c in ref_counter.items() if n not in kept), ref_none])
        cur_counts = np.array([cur_counter[n] for n in top]
                              + [sum(c for n, c in cur_counter.items() if n not in kept), cur_none])
        ref_missing, cur_missing = ref_none / ref_rows, cur_none / cur_rows
    else:
        raise ValueError(f"{feature}: unknown kind {kind!r} (numeric, list length or categorical)")
    value = psi(ref_counts, cur_counts)
    ref_share, cur_share = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
    bins = tuple(BinShare(label, float(r), float(c))
                 for label, r, c in zip(labels, ref_share, cur_share, strict=True))
    return FeatureDrift(feature=feature, kind=kind, psi=value, reference_rows=len(reference),
                        current_rows=len(current), reference_missing=float(ref_missing),
                        current_missing=float(cur_missing), bins=bins)


def features_drift(reference: pa.Table, current: pa.Table,
                   features: Sequence[tuple[str, str]] = FEATURES) -> tuple[FeatureDrift, ...]:
    """Drift of ``current`` from ``reference`` per feature; a feature missing from either
    table is skipped."""
    out = []
    for feature, kind in features:
        try:
            ref, cur = feature_values(reference, feature), feature_values(current, feature)
        except KeyError:
            continue
        out.append(feature_drift(feature, kind, ref, cur))
    return tuple(out)


def drift_report(reference: pa.Table, current: pa.Table, *, label: str = LABEL_FEATURE,
                 new_labels: pa.ChunkedArray | pa.Array | None = None,
                 features: Sequence[tuple[str, str]] = FEATURES,
                 reference_name: str = "training films", current_name: str = "films predicted",
                 baseline: pa.Table | None = None,
                 baseline_name: str = "films predicted at training time",
                 baseline_problem: str | None = None) -> DriftReport:
    """Drift of ``current`` from ``reference`` and from ``baseline`` per feature, and of
    ``new_labels`` from the reference's labels.

    Args:
        reference: the model's training rows (view columns, labelled).
        current: the rows being predicted.
        label: the label column of ``reference``.
        new_labels: real ratings of films rated since they were predicted; no label row
            when None or empty.
        features: (feature, kind) pairs to compare; a feature missing from either table is
            skipped.
        reference_name: what the reference rows are, in words.
        current_name: what the current rows are, in words.
        baseline: the films predicted at training time; None when not computable (say why
            in ``baseline_problem``).
        baseline_name: what the baseline rows are, in words.
        baseline_problem: why there is no baseline.

    Raises:
        ValueError: ``reference`` or ``current`` has no rows.
    """
    if reference.num_rows == 0 or current.num_rows == 0:
        raise ValueError(f"drift needs rows on both sides: {reference.num_rows:,} reference, "
                         f"{current.num_rows:,} current")
    out = list(features_drift(reference, current, features))
    if new_labels is not None and len(new_labels) and label in reference.column_names:
        labels = reference[label].drop_null()
        if len(labels):
            out.append(feature_drift(label, NUMERIC, labels, new_labels))
    against_baseline: tuple[FeatureDrift, ...] = ()
    if baseline is not None and baseline.num_rows == 0:
        baseline, baseline_problem = None, f"no {baseline_name}"
    if baseline is not None:
        against_baseline, baseline_problem = features_drift(baseline, current, features), None
    elif baseline_problem is None:
        baseline_problem = "no baseline given"
    return DriftReport(tuple(out), reference=f"{reference.num_rows:,} {reference_name}",
                       current=f"{current.num_rows:,} {current_name}", baseline=against_baseline,
                       baseline_reference=None if baseline is None else f"{baseline.num_rows:,} {baseline_name}",
                       baseline_problem=baseline_problem)
