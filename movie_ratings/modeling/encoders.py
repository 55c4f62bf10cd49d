"""Fitted preprocessing: the first step of every registered model's pipeline.

The pipeline's input is a table of feature-view rows (a ``pyarrow.Table`` or a pandas
DataFrame with the view's columns); its output is a dense float32 matrix. Everything that
depends on training data is fitted here, on training rows only, and travels with the model:

* high-cardinality people and companies (directors, cast, writers, ...) get a smoothed
  **target encoding** per list member, aggregated per film (mean and max deviation from the
  global mean, and how many members are known). During ``fit_transform`` it is
  **cross-fitted**: each training row is encoded with statistics from the other folds only,
  so a film's own rating never leaks into its features. ``transform`` (inference) uses
  statistics from all training rows; unknown members simply count as unknown.
* text (title, tagline, overview) becomes one out-of-fold ridge score on hashed word
  n-grams (lowercased, so casing and whitespace do not matter).

Post-release signals (votes, popularity, revenue) are never read: see
:data:`movie_ratings.schema.POST_RELEASE_COLUMNS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import Ridge

from movie_ratings.schema import GENRE_FEATURES

#: Numeric pre-release features used as they are (NaN when unknown).
NUMERIC_FEATURES: tuple[str, ...] = (
    "runtime", "release_year", "release_month",
    "n_cast", "n_directors", "n_writers", "n_producers", "n_companies", "n_countries",
    "n_spoken_languages", "n_genres", *GENRE_FEATURES,
)
#: List (or single-value) columns that get a cross-fitted target encoding.
TARGET_ENCODED: tuple[str, ...] = (
    "directors", "writers", "producers", "top_cast", "companies", "composers",
    "cinematographers", "countries", "spoken_languages", "original_language",
)
TEXT_COLUMNS: tuple[str, ...] = ("title", "tagline", "overview")
#: Every view column the pipeline reads.
INPUT_COLUMNS: tuple[str, ...] = (
    *NUMERIC_FEATURES, "budget", "release_date", *TARGET_ENCODED, *TEXT_COLUMNS,
)


def as_table(rows: Any, columns: tuple[str, ...] = INPUT_COLUMNS) -> pa.Table:
    """The needed columns of ``rows`` (Arrow table or pandas DataFrame) as an Arrow table.

    Raises:
        KeyError: naming the missing columns.
    """
    if not isinstance(rows, pa.Table):
        rows = pa.Table.from_pandas(rows, preserve_index=False)
    missing = [c for c in columns if c not in rows.column_names]
    if missing:
        raise KeyError(f"rows lack the model's input columns: {missing}")
    return rows.select(list(columns))


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """A fold number (0..folds-1) per row, balanced and shuffled by ``seed``."""
    return np.random.default_rng(seed).permutation(np.arange(n) % folds)


def _as_lists(values: pa.ChunkedArray) -> pa.Array:
    """A list<string> array; a plain string column becomes one-item lists."""
    values = values.combine_chunks()
    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        return values
    values = pc.cast(values, pa.string())
    offsets = pa.array(np.arange(len(values) + 1, dtype=np.int32))
    lists = pa.ListArray.from_arrays(offsets, values)
    # a null value is an empty list, not a list holding null
    return pc.if_else(pc.is_null(values), pa.scalar([], lists.type), lists)


def _row_reduce(values: np.ndarray, parents: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Per row: mean and max of the finite ``values`` of its list members, and their count."""
    known = np.isfinite(values)
    count = np.bincount(parents[known], minlength=n).astype(np.float64)
    total = np.bincount(parents[known], weights=values[known], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    best = np.full(n, -np.inf)
    np.maximum.at(best, parents[known], values[known])
    best[count == 0] = np.nan
    return mean, best, count


@dataclass
class _MemberStats:
    vocabulary: pa.Array     # member names
    deviation: np.ndarray    # smoothed mean label minus prior, per member
    films: np.ndarray        # training films per member

    # Saved as plain arrays (UTF-8 bytes and offsets, Arrow's own layout), so the model
    # file holds no pyarrow object and loads with skops' safe loader.
    def __getstate__(self) -> dict[str, Any]:
        names = self.vocabulary.cast(pa.large_string())
        _, offsets, data = names.buffers()
        offsets = (np.frombuffer(offsets, np.int64)[names.offset:names.offset + len(names) + 1]
                   if offsets is not None else np.zeros(1, np.int64))
        data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
        return {"type": str(self.vocabulary.type), "length": len(names),
                "offsets": offsets - offsets[0], "data": data[offsets[0]:offsets[-1]].copy(),
                "deviation": self.deviation, "films": self.films}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "offsets" not in state:  # pickled before this state format
            self.__dict__.update(state)
            return
        offsets = np.asarray(state["offsets"], dtype=np.int64)
        names = pa.LargeStringArray.from_buffers(
            int(state["length"]), pa.py_buffer(offsets), pa.py_buffer(np.asarray(state["data"], dtype=np.uint8)))
        names.validate(full=True)  # offsets and UTF-8 checked before any kernel reads them
        self.vocabulary = names.cast(pa.type_for_alias(state["type"]))
        self.deviation = np.asarray(state["deviation"], dtype=np.float64)
        self.films = np.asarray(state["films"], dtype=np.float64)


class ListTargetEncoder(BaseEstimator, TransformerMixin):
    """Smoothed target encoding of list members, aggregated per film; cross-fitted in training.

    Args:
        smoothing: pseudo-count pulling a member's mean towards the global mean (members
            with few films say little).
        folds: folds for the out-of-fold encoding of the training rows.
        seed: fold assignment seed.
    """

    def __init__(self, smoothing: float = 10.0, folds: int = 5, seed: int = 0) -> None:
        self.smoothing = smoothing
        self.folds = folds
        self.seed = seed

    def _flat(self, lists: pa.Array) -> tuple[pa.Array, np.ndarray]:
        flat = pc.list_flatten(lists)
        parents = pc.list_parent_indices(lists).to_numpy()
        keep = pc.is_valid(flat).to_numpy(zero_copy_only=False)
        return flat.filter(pa.array(keep)), parents[keep]

    def _stats(self, codes: np.ndarray, labels: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        sums = np.bincount(codes, weights=labels, minlength=size)
        counts = np.bincount(codes, minlength=size).astype(np.float64)
        return sums, counts

    def _deviation(self, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
        dev = (sums + self.smoothing * self.prior_) / (counts + self.smoothing) - self.prior_
        return np.where(counts > 0, dev, np.nan)

    def fit(self, X: pa.ChunkedArray, y: np.ndarray) -> ListTargetEncoder:
        self._fit(X, y)
        return self

    def _fit(self, X: pa.ChunkedArray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        lists = _as_lists(X)
        y = np.asarray(y, dtype=np.float64)
        self.prior_ = float(y.mean())
        flat, parents = self._flat(lists)
        encoded = pc.dictionary_encode(flat)
        codes = encoded.indices.to_numpy().astype(np.int64)
        size = len(encoded.dictionary)
        sums, counts = self._stats(codes, y[parents], size)
        self.stats_ = _MemberStats(encoded.dictionary, self._deviation(sums, counts), counts)
        return codes, parents, sums, counts

    def transform(self, X: pa.ChunkedArray) -> np.ndarray:
        lists = _as_lists(X)
        flat, parents = self._flat(lists)
        found = pc.index_in(flat, value_set=self.stats_.vocabulary)
        known = pc.is_valid(found).to_numpy(zero_copy_only=False)
        index = pc.fill_null(found, 0).to_numpy(zero_copy_only=False).astype(np.int64)
        deviation = np.where(known, self.stats_.deviation[index], np.nan)
        films = np.where(known, self.stats_.films[index], 0.0)
        return self._aggregate(deviation, films, parents, len(lists))

    def fit_transform(self, X: pa.ChunkedArray, y: np.ndarray, **_: Any) -> np.ndarray:
        codes, parents, sums, counts = self._fit(X, y)
        n = len(y)
        y = np.asarray(y, dtype=np.float64)
        fold_of_row = fold_ids(n, self.folds, self.seed)
        fold_of_member = fold_of_row[parents]
        deviation = np.empty(len(codes))
        films = np.empty(len(codes))
        for fold in range(self.folds):
            here = fold_of_member == fold
            in_sums, in_counts = self._stats(codes[here], y[parents[here]], len(sums))
            out_sums, out_counts = sums - in_sums, counts - in_counts
            deviation[here] = self._deviation(out_sums, out_counts)[codes[here]]
            films[here] = out_counts[codes[here]]
        return self._aggregate(deviation, films, parents, n)

    def _aggregate(self, deviation: np.ndarray, films: np.ndarray, parents: np.ndarray, n: int) -> np.ndarray:
        mean, best, known = _row_reduce(deviation, parents, n)
        experience = np.bincount(parents, weights=films, minlength=n)
        return np.column_stack([mean, best, known, np.log1p(experience)])

    @staticmethod
    def output_suffixes() -> tuple[str, ...]:
        return ("te_mean", "te_max", "known", "log_films")


#: scikit-learn's default token pattern: words of two or more word characters.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def words_and_bigrams(text: str) -> list[str]:
    """The tokens ``HashingVectorizer(ngram_range=(1, 2))`` makes of ``text``, in a third
    less time (its general n-gram loop is the slow part of hashing 1.2M overviews).

    Same lowercasing, token pattern and bigram joining, so the hashed features, and the
    models fitted on them, are unchanged.
    """
    words = _TOKEN.findall(text.lower())
    return words + [f"{a} {b}" for a, b in pairwise(words)]


def film_text(table: pa.Table) -> list[str]:
    """Title, tagline and overview of each film as one lowercase string."""
    parts = [pc.fill_null(pc.cast(table[c], pa.string()), "") for c in TEXT_COLUMNS]
    joined = pc.binary_join_element_wise(*parts, " ")
    return pc.utf8_lower(joined).to_pylist()


class TextScore(BaseEstimator, TransformerMixin):
    """One number per film: a ridge regression of the label on hashed text n-grams.

    Cross-fitted in ``fit_transform`` like :class:`ListTargetEncoder`; the ridge used at
    inference is fitted on all training rows.

    Args:
        n_features: hashing space size (bounded memory whatever the vocabulary).
        alpha: ridge penalty.
        folds: folds of the out-of-fold score.
        seed: fold assignment seed.
    """

    def __init__(self, n_features: int = 2**18, alpha: float = 3.0, folds: int = 5, seed: int = 0) -> None:
        self.n_features = n_features
        self.alpha = alpha
        self.folds = folds
        self.seed = seed

    def _vectorizer(self) -> HashingVectorizer:
        return HashingVectorizer(n_features=self.n_features, alternate_sign=False,
                                 analyzer=words_and_bigrams, norm=None, dtype=np.float32)

    def _ridge(self) -> Ridge:
        return Ridge(alpha=self.alpha, solver="sparse_cg", max_iter=200, tol=1e-3)

    def fit(self, X: pa.Table, y: np.ndarray) -> TextScore:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pa.Table, y: np.ndarray, **_: Any) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        self.prior_ = float(y.mean())
        counts = self._vectorizer().transform(film_text(X))
        self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(counts)
        matrix = self.tfidf_.transform(counts)
        out = np.empty(len(y))
        folds = fold_ids(len(y), self.folds, self.seed)
        for fold in range(self.folds):
            held = folds == fold
            ridge = self._ridge().fit(matrix[~held], y[~held] - self.prior_)
            out[held] = ridge.predict(matrix[held])
        self.ridge_ = self._ridge().fit(matrix, y - self.prior_)
        return out[:, None]

    def transform(self, X: pa.Table) -> np.ndarray:
        matrix = self.tfidf_.transform(self._vectorizer().transform(film_text(X)))
        return self.ridge_.predict(matrix)[:, None]


class MovieFeatures(BaseEstimator, TransformerMixin):
    """Feature-view rows → the model's numeric matrix (fitted on training rows only).

    Args:
        use_text: add the cross-fitted text score (measured: see the training report).
        smoothing: target-encoding pseudo-count.
        folds: cross-fitting folds.
        seed: fold seed.
    """

    def __init__(self, use_text: bool = True, smoothing: float = 10.0, folds: int = 5, seed: int = 0) -> None:
        self.use_text = use_text
        self.smoothing = smoothing
        self.folds = folds
        self.seed = seed

    def _plain(self, table: pa.Table) -> np.ndarray:
        columns = [pc.cast(table[c], pa.float64()).to_numpy(zero_copy_only=False) for c in NUMERIC_FEATURES]
        budget = pc.cast(table["budget"], pa.float64()).to_numpy(zero_copy_only=False)
        columns.append(np.log1p(budget))
        columns.append(pc.is_null(table["release_date"]).to_numpy(zero_copy_only=False).astype(np.float64))
        overview_words = pc.utf8_length(pc.fill_null(table["overview"], "")).to_numpy(zero_copy_only=False)
        columns.append(np.log1p(overview_words.astype(np.float64)))
        columns.append(pc.is_valid(table["tagline"]).to_numpy(zero_copy_only=False).astype(np.float64))
        return np.column_stack(columns)

    def _encoders(self) -> dict[str, ListTargetEncoder]:
        return {c: ListTargetEncoder(self.smoothing, self.folds, self.seed + i)
                for i, c in enumerate(TARGET_ENCODED)}

    def fit(self, X: Any, y: np.ndarray) -> MovieFeatures:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: np.ndarray, **_: Any) -> np.ndarray:
        table = as_table(X)
        y = np.asarray(y, dtype=np.float64)
        if np.isnan(y).any():
            raise ValueError("training labels contain nulls")
        self.encoders_ = self._encoders()
        parts = [self._plain(table)]
        parts += [enc.fit_transform(table[c], y) for c, enc in self.encoders_.items()]
        if self.use_text:
            self.text_ = TextScore(folds=self.folds, seed=self.seed)
            parts.append(self.text_.fit_transform(table, y))
        self.n_features_out_ = sum(p.shape[1] for p in parts)
        return np.hstack(parts).astype(np.float32)

    def transform(self, X: Any) -> np.ndarray:
        table = as_table(X)
        parts = [self._plain(table)]
        parts += [enc.transform(table[c]) for c, enc in self.encoders_.items()]
        if self.use_text:
            parts.append(self.text_.transform(table))
        return np.hstack(parts).astype(np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = [*NUMERIC_FEATURES, "log_budget", "release_date_unknown", "log_overview_chars", "has_tagline"]
        for column in TARGET_ENCODED:
            names += [f"{column}_{s}" for s in ListTargetEncoder.output_suffixes()]
        if self.use_text:
            names.append("text_score")
        return np.array(names, dtype=object)
