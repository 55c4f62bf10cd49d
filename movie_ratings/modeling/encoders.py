"""Fitted preprocessing: the first step of every registered model's pipeline.

The pipeline's input is a table of feature-view rows (a ``pyarrow.Table`` or a pandas
DataFrame with the view's columns); its output is a dense float32 matrix. Everything that
depends on training data is fitted here, on training rows only, and travels with the model:

* people, companies, countries and languages get a **time-aware** smoothed target encoding
  per list member, aggregated per film (:class:`HistoryEncoder`): a film only sees the
  training films released more than a settling lag before it, exactly as a film scored
  before its release only has the past. The same code encodes training rows and the films
  scored later, from the history kept in the fitted pipeline. Directors, writers, top
  cast, producers and companies also get career features.
* text (title, tagline, overview) becomes one out-of-fold ridge score on hashed word
  n-grams (lowercased, so casing and whitespace do not matter).
* missing stays distinct from zero: an unknown count, list, genre set or encoding is NaN.
* training rows can lose fields at the rates upcoming films miss them
  (:func:`~movie_ratings.modeling.augment.upcoming_drop_rates`), so the model learns from
  rows like the ones it scores.

Post-release signals (votes, popularity, revenue) are never read: see
:data:`movie_ratings.schema.POST_RELEASE_COLUMNS`.

The classes stay in this module: a model file names each class by its module, and
:func:`movie_ratings.modeling.artifacts.load_pipeline` trusts a class only at the module
that defines it, so moving one would make every registered model unloadable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import Ridge

from movie_ratings.modeling.augment import drop_metadata
from movie_ratings.modeling.text import TEXT_COLUMNS, film_text, words_and_bigrams
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


def release_days(table: pa.Table) -> np.ndarray:
    """Release date of each row as days since 1970-01-01 (float; NaN when unknown)."""
    days = pc.cast(table["release_date"], pa.int32()).to_numpy(zero_copy_only=False)
    return days.astype(np.float64)


#: History keys are ``member code * _SPAN + day + _OFFSET``: one sorted int64 array holds
#: every member's films in date order (days from 1833 to 2106 fit).
_OFFSET = 50_000
_SPAN = 150_000
#: Recency weighting of ``career_recent``: a film 10 years older counts e (2.7) times less.
_RECENCY_DAYS = 3652.5


def _group_max(values: np.ndarray, parents: np.ndarray, n: int) -> np.ndarray:
    """Per row, the max of the finite ``values`` of its members (NaN when none)."""
    known = np.isfinite(values)
    best = np.full(n, -np.inf)
    np.maximum.at(best, parents[known], values[known])
    return np.where(np.isneginf(best), np.nan, best)


def _group_sum(values: np.ndarray, parents: np.ndarray, n: int) -> np.ndarray:
    known = np.isfinite(values)
    return np.bincount(parents[known], weights=values[known], minlength=n)


def _search(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """``np.searchsorted(haystack, needles)`` for needles in any order.

    Searching sorted needles walks the haystack in order, which at millions of needles
    is much faster than searching them as they come, sort included (README, Performance).
    """
    order = np.argsort(needles)
    out = np.empty(len(needles), dtype=np.int64)
    out[order] = np.searchsorted(haystack, needles[order], side="left")
    return out


@dataclass
class _History:
    """Every (member, dated training film) pair, sorted by member then release day."""

    vocabulary: pa.Array    # member names; a member's code is its index here
    keys: np.ndarray        # int64, sorted: code * _SPAN + day + _OFFSET
    labels: np.ndarray      # float32 rating of the film of each key (ratings have 1 decimal)
    starts: np.ndarray      # index of each code's first key (len(vocabulary) + 1 entries)

    def __post_init__(self) -> None:
        self.cumulative = np.concatenate([[0.0], np.cumsum(self.labels, dtype=np.float64)])
        # recency weights exp(day / _RECENCY_DAYS): a film's weight seen from day t is
        # exp((day - t) / _RECENCY_DAYS), so one running sum serves every t
        weight = np.exp(((self.keys % _SPAN) - _OFFSET) / _RECENCY_DAYS)
        self.weights = np.concatenate([[0.0], np.cumsum(weight)])
        self.weighted = np.concatenate([[0.0], np.cumsum(weight * self.labels)])

    # Saved as plain arrays (the vocabulary as UTF-8 bytes and offsets, Arrow's own layout),
    # so the model file holds no pyarrow object and loads with skops' safe loader; the
    # running sums are rebuilt on load (less to store with every model).
    def __getstate__(self) -> dict[str, Any]:
        names = self.vocabulary.cast(pa.large_string())
        _, offsets, data = names.buffers()
        offsets = (np.frombuffer(offsets, np.int64)[names.offset:names.offset + len(names) + 1]
                   if offsets is not None else np.zeros(1, np.int64))
        data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
        return {"type": str(self.vocabulary.type), "length": len(names),
                "offsets": offsets - offsets[0], "data": data[offsets[0]:offsets[-1]].copy(),
                "keys": self.keys, "labels": self.labels, "starts": self.starts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        offsets = np.asarray(state["offsets"], dtype=np.int64)
        names = pa.LargeStringArray.from_buffers(
            int(state["length"]), pa.py_buffer(offsets), pa.py_buffer(np.asarray(state["data"], dtype=np.uint8)))
        names.validate(full=True)  # offsets and UTF-8 checked before any kernel reads them
        self.vocabulary = names.cast(pa.type_for_alias(state["type"]))
        self.keys = np.asarray(state["keys"], dtype=np.int64)
        self.labels = np.asarray(state["labels"], dtype=np.float32)
        self.starts = np.asarray(state["starts"], dtype=np.int64)
        self.__post_init__()


class HistoryEncoder(BaseEstimator, TransformerMixin):
    """Time-aware encoding of a list column (people, companies, countries, languages).

    A film's members are described only by the training films they appeared in that were
    released more than ``lag_days`` before it (the ratings of the last weeks are not final
    yet, and a film never sees itself or anything later). Computed with sorted cumulative
    sums: one ``searchsorted`` per (film, member) pair, no per-film Python loop. Training
    and inference run the same :meth:`transform`; the fitted history (every member's
    dated training films and their ratings) travels with the model.

    Output per film (NaN where nothing is known; a missing list is not an empty one):

    * ``te_mean``, ``te_max``: mean and max over the members with earlier films of their
      smoothed mean rating minus the prior, the mean rating of all the training films
      released before the same date (so a later rating changes nothing earlier);
    * ``known``: members with earlier films (NaN when the list itself is missing);
    * ``log_films``: log(1 + earlier films summed over members) (NaN when the list is missing);
    * with ``career``: ``career_films`` log(1 + earlier films of the most experienced member),
      ``career_years`` years since that member's first film (the largest over members),
      ``career_mean`` mean rating of all the members' earlier films, ``career_last`` mean
      over members of the rating of their latest earlier film (both minus the prior),
      ``career_recent`` like ``te_mean`` with each earlier film weighted by
      exp(-age / 10 years) (people's quality drifts).

    Args:
        smoothing: pseudo-count pulling a member's mean towards the prior.
        lag_days: films released fewer days than this before a film are not in its history.
        career: add the career features.
    """

    def __init__(self, smoothing: float = 10.0, lag_days: int = 90, career: bool = False) -> None:
        self.smoothing = smoothing
        self.lag_days = lag_days
        self.career = career

    def fit(self, X: pa.ChunkedArray, y: np.ndarray, days: np.ndarray) -> HistoryEncoder:
        """Keep the history of the training films (undated films cannot be placed: left out)."""
        lists = _as_lists(X)
        y = np.asarray(y, dtype=np.float64)
        days = np.asarray(days, dtype=np.float64)
        # The prior a film is smoothed towards is the mean rating of all films before it:
        # running count and sum of ratings at each distinct release day.
        dated_films = np.isfinite(days)
        order = np.argsort(days[dated_films], kind="stable")
        sorted_days = days[dated_films][order]
        self.prior_days_, first = np.unique(sorted_days, return_index=True)
        self.prior_counts_ = np.append(first, len(sorted_days))
        self.prior_sums_ = np.concatenate([[0.0], np.cumsum(y[dated_films][order])])[self.prior_counts_]
        flat, parents = _flat(lists)
        encoded = pc.dictionary_encode(flat)
        codes = encoded.indices.to_numpy().astype(np.int64)
        film_days = days[parents]
        dated = np.isfinite(film_days)
        keys = codes[dated] * _SPAN + film_days[dated].astype(np.int64) + _OFFSET
        order = np.argsort(keys)  # films of one member on one day: in any (fixed) order
        keys = keys[order]
        size = len(encoded.dictionary)
        starts = np.searchsorted(keys, np.arange(size + 1, dtype=np.int64) * _SPAN)
        labels = y[parents][dated][order].astype(np.float32)
        self.history_ = _History(encoded.dictionary, keys, labels, starts)
        return self

    def transform(self, X: pa.ChunkedArray, days: np.ndarray) -> np.ndarray:
        """Encode each film with the history released before its day minus the lag.

        An undated film is encoded with the whole history (it comes after all of it).
        """
        h = self.history_
        lists = _as_lists(X)
        n = len(lists)
        flat, parents = _flat(lists)
        found = pc.index_in(flat, value_set=h.vocabulary)
        member = pc.is_valid(found).to_numpy(zero_copy_only=False)
        code = pc.fill_null(found, 0).to_numpy(zero_copy_only=False).astype(np.int64)
        film_query = np.asarray(days, dtype=np.float64)
        day_index = _search(self.prior_days_, film_query - self.lag_days)
        day_index[np.isnan(film_query)] = len(self.prior_days_)
        before = self.prior_counts_[day_index]
        with np.errstate(invalid="ignore", divide="ignore"):
            film_prior = np.where(before > 0, self.prior_sums_[day_index] / before, np.nan)
        query = film_query[parents]
        bound = np.where(np.isfinite(query), np.nan_to_num(query) - self.lag_days + _OFFSET, _SPAN)
        bound = np.clip(bound, 0, _SPAN).astype(np.int64)
        first = h.starts[code]
        end = _search(h.keys, code * _SPAN + bound)
        count = np.where(member, end - first, 0).astype(np.float64)
        has = count > 0
        total = np.where(has, h.cumulative[end] - h.cumulative[first], 0.0)
        prior, s = film_prior[parents], self.smoothing
        with np.errstate(invalid="ignore", divide="ignore"):
            deviation = np.where(has, (total + s * prior) / (count + s) - prior, np.nan)
        listed = np.bincount(parents, minlength=n) > 0  # a film with a missing list: NaN
        known = np.bincount(parents[has], minlength=n).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            te_mean = _group_sum(deviation, parents, n) / known
        columns = [te_mean, _group_max(deviation, parents, n),
                   np.where(listed, known, np.nan),
                   np.where(listed, np.log1p(np.bincount(parents, weights=count, minlength=n)), np.nan)]
        if self.career:
            # `has` implies a key at `first` and at `end - 1`; elsewhere any valid index will do
            last_key = np.clip(end - 1, 0, max(len(h.keys) - 1, 0))
            first_key = np.clip(first, 0, max(len(h.keys) - 1, 0))
            keys = h.keys if len(h.keys) else np.zeros(1, np.int64)
            labels = h.labels if len(h.labels) else np.zeros(1)
            last = np.where(has, labels[last_key] - prior, np.nan)
            first_day = np.where(has, keys[first_key] - code * _SPAN - _OFFSET, np.nan)
            years = np.where(has & np.isfinite(query), (query - first_day) / 365.25, np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                career_mean = (_group_sum(np.where(has, total, np.nan), parents, n)
                               / np.bincount(parents, weights=count, minlength=n)) - film_prior
                career_last = _group_sum(last, parents, n) / known
            most = _group_max(np.where(has, count, np.nan), parents, n)
            # the same smoothed mean with older films counting less (careers drift)
            now = np.where(np.isfinite(query), query, (h.keys[-1] % _SPAN) - _OFFSET if len(h.keys) else 0)
            scale = np.exp(-now / _RECENCY_DAYS)
            weight = (h.weights[end] - h.weights[first]) * scale
            weighted = (h.weighted[end] - h.weighted[first]) * scale
            with np.errstate(invalid="ignore", divide="ignore"):
                recent = np.where(has, (weighted + s * prior) / (weight + s) - prior, np.nan)
                career_recent = _group_sum(recent, parents, n) / known
            columns += [np.where(listed, np.log1p(np.nan_to_num(most)), np.nan),
                        _group_max(years, parents, n), career_mean, career_last, career_recent]
        return np.column_stack(columns)

    def output_suffixes(self) -> tuple[str, ...]:
        base = ("te_mean", "te_max", "known", "log_films")
        career = ("career_films", "career_years", "career_mean", "career_last", "career_recent")
        return base + career if self.career else base


def _flat(lists: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """List members (nulls left out) and the row each belongs to."""
    flat = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists).to_numpy()
    keep = pc.is_valid(flat).to_numpy(zero_copy_only=False)
    return flat.filter(pa.array(keep)), parents[keep]


class TextScore(BaseEstimator, TransformerMixin):
    """One number per film: a ridge regression of the label on hashed text n-grams.

    Cross-fitted in ``fit_transform`` (each row scored by a ridge fitted on the other
    folds); the ridge used at inference is fitted on all training rows.

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


#: Roles that also get career features (earlier films, years since the first, mean and
#: last rating of earlier films).
CAREER_ROLES: tuple[str, ...] = ("directors", "writers", "top_cast", "producers", "companies")
#: Count features of list columns. The Kaggle file writes an empty list and a missing one
#: alike (an empty field), so a count of 0 means "not known" and becomes NaN.
LIST_COUNTS: tuple[str, ...] = (
    "n_cast", "n_directors", "n_writers", "n_producers", "n_companies", "n_countries",
    "n_spoken_languages", "n_genres",
)

def _float32_columns(parts: list[np.ndarray]) -> np.ndarray:
    """The parts side by side as one float32 matrix, without a float64 copy of it all."""
    out = np.empty((len(parts[0]), sum(p.shape[1] for p in parts)), dtype=np.float32)
    start = 0
    for part in parts:
        out[:, start:start + part.shape[1]] = part
        start += part.shape[1]
    return out


class MovieFeatures(BaseEstimator, TransformerMixin):
    """Feature-view rows → the model's numeric matrix (fitted on training rows only).

    Args:
        use_text: add the cross-fitted text score (measured: see the training report).
        smoothing: target-encoding pseudo-count.
        folds: cross-fitting folds of the text score.
        seed: fold and augmentation seed.
        lag_days: settling lag of the time-aware history (:class:`HistoryEncoder`).
        drop_rates: per field, the share of training rows that lose it, so training rows
            are as sparse as the upcoming films the model scores (see
            :func:`~movie_ratings.modeling.augment.upcoming_drop_rates`); the history keeps
            every film's full record.
            None (no augmentation) in training: measured, it did not help (README).
    """

    def __init__(self, use_text: bool = True, smoothing: float = 10.0, folds: int = 5, seed: int = 0,
                 lag_days: int = 90, drop_rates: dict[str, float] | None = None) -> None:
        self.use_text = use_text
        self.smoothing = smoothing
        self.folds = folds
        self.seed = seed
        self.lag_days = lag_days
        self.drop_rates = drop_rates

    def _plain(self, table: pa.Table) -> np.ndarray:
        columns = []
        for c in NUMERIC_FEATURES:
            values = pc.cast(table[c], pa.float64()).to_numpy(zero_copy_only=False)
            if c in LIST_COUNTS:
                values = np.where(values == 0, np.nan, values)
            columns.append(values)
        if GENRE_FEATURES:  # no genre listed: the flags are unknown, not "none of them"
            no_genres = ~(np.nan_to_num(columns[NUMERIC_FEATURES.index("n_genres")]) > 0)
            for c in GENRE_FEATURES:
                k = NUMERIC_FEATURES.index(c)
                columns[k] = np.where(no_genres, np.nan, columns[k])
        budget = pc.cast(table["budget"], pa.float64()).to_numpy(zero_copy_only=False)
        columns.append(np.log1p(budget))
        columns.append(pc.is_null(table["release_date"]).to_numpy(zero_copy_only=False).astype(np.float64))
        overview_chars = pc.utf8_length(table["overview"]).to_numpy(zero_copy_only=False)
        columns.append(np.log1p(overview_chars.astype(np.float64)))
        columns.append(pc.is_valid(table["tagline"]).to_numpy(zero_copy_only=False).astype(np.float64))
        return np.column_stack(columns)

    def _encoders(self) -> dict[str, HistoryEncoder]:
        return {c: HistoryEncoder(self.smoothing, self.lag_days, career=c in CAREER_ROLES)
                for c in TARGET_ENCODED}

    def fit(self, X: Any, y: np.ndarray) -> MovieFeatures:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: np.ndarray, **_: Any) -> np.ndarray:
        table = as_table(X)
        y = np.asarray(y, dtype=np.float64)
        if np.isnan(y).any():
            raise ValueError("training labels contain nulls")
        days = release_days(table)
        self.encoders_ = {c: enc.fit(table[c], y, days) for c, enc in self._encoders().items()}
        # Training rows look like the films scored: some lose fields, as upcoming films
        # miss them; the history above was built from their full records.
        rows = drop_metadata(table, self.drop_rates or {}, self.seed)
        parts = [self._plain(rows)]
        parts += [enc.transform(rows[c], days) for c, enc in self.encoders_.items()]
        if self.use_text:
            self.text_ = TextScore(folds=self.folds, seed=self.seed)
            parts.append(self.text_.fit_transform(rows, y))
        self.n_features_out_ = sum(p.shape[1] for p in parts)
        return _float32_columns(parts)

    def transform(self, X: Any) -> np.ndarray:
        table = as_table(X)
        days = release_days(table)
        parts = [self._plain(table)]
        parts += [enc.transform(table[c], days) for c, enc in self.encoders_.items()]
        if self.use_text:
            parts.append(self.text_.transform(table))
        return _float32_columns(parts)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = [*NUMERIC_FEATURES, "log_budget", "release_date_unknown", "log_overview_chars", "has_tagline"]
        for column, encoder in self._encoders().items():
            names += [f"{column}_{s}" for s in encoder.output_suffixes()]
        if self.use_text:
            names.append("text_score")
        return np.array(names, dtype=object)
