"""A deterministic simulator of Kaggle's daily ``TMDB_all_movies.csv`` feed.

The demo feed lets every flow run end to end without a network or Kaggle credentials.
It reproduces the conventions of the real file (28 columns in file order, ``"A, B"``
list strings, float counts, ``0`` for unknown budget/revenue/runtime/vote_average, high
null rates, quoted overviews with commas, quotes and newlines) and its behaviour over
time:

* on :data:`DEMO_EPOCH` the feed holds exactly ``size`` films; every later day adds a
  few newly announced films with higher ids (TMDB ids grow with creation time);
* a film's row on a date is a pure function of its latent properties and the date:
  its status moves Planned -> In Production -> Post Production -> Released as its
  release date comes closer, its IMDb rating and votes appear a few days after release,
  drift on some days of the first month and then stay put; a few rumoured films are
  deleted. Only a small share of rows changes from one day to the next;
* the final IMDb rating comes from a hidden function of genres, people, companies,
  language, runtime, budget, year and overview words plus noise, so a model can learn
  it well but not exactly.

Randomness comes from independent streams: the base films from
``default_rng([seed, 0])``, the films added on day ``d`` from
``default_rng([seed, 1, d])`` and the pools of people and companies from
``default_rng([seed, 2])``. Asking for a later date never changes earlier films.

The package, one job per module: :mod:`.vocabulary` (word lists), :mod:`.streams`
(random draws), :mod:`.lists` (per-film lists and strings), :mod:`.pools` (people and
companies), :mod:`.text` (titles and overviews), :mod:`.rating` (the hidden rating),
:mod:`.films` (latent film properties), :mod:`.feed` (the rows of a day, churn included),
:mod:`.writer` (the CSV) and :mod:`.source` (the cached source).
"""

from movie_ratings.sources.demo.feed import churn_moves, churned, demo_snapshot
from movie_ratings.sources.demo.films import DEMO_EPOCH
from movie_ratings.sources.demo.source import DemoSource
from movie_ratings.sources.demo.writer import write_snapshot_csv

__all__ = [
    "DEMO_EPOCH",
    "DemoSource",
    "churn_moves",
    "churned",
    "demo_snapshot",
    "write_snapshot_csv",
]
