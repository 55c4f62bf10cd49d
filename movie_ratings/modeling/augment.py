"""Training rows as sparse as the upcoming films the model scores: how much more often each
field is missing on upcoming films, and rows that lose fields at those rates."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Fields a training row can lose in the augmentation (:func:`upcoming_drop_rates`), with
#: the count columns that go with them.
DROPPABLE: dict[str, tuple[str, ...]] = {
    "runtime": (), "budget": (), "overview": (), "tagline": (),
    "top_cast": ("n_cast",), "directors": ("n_directors",), "writers": ("n_writers",),
    "producers": ("n_producers",), "companies": ("n_companies",),
    "composers": (), "cinematographers": (),
}


def _missing(table: pa.Table, column: str) -> np.ndarray:
    values = table[column]
    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        length = pc.fill_null(pc.list_value_length(values), 0).to_numpy(zero_copy_only=False)
        empty: np.ndarray = length == 0
        return empty
    missing: np.ndarray = pc.is_null(values).to_numpy(zero_copy_only=False)
    return missing


def upcoming_drop_rates(view: pa.Table, *, min_films: int = 50) -> dict[str, float]:
    """How much more often each field is missing on upcoming films than on rated ones.

    For each :data:`DROPPABLE` field: the probability ``p`` with which dropping it from a
    rated film makes rated films miss it as often as upcoming films do,
    ``p = (m_upcoming - m_rated) / (1 - m_rated)`` (0 when upcoming films are not sparser).
    Upcoming films are those of an upcoming status without a rating.

    Args:
        view: rows of the feature view (rated and unrated films).
        min_films: fewer upcoming or rated films than this: no rates (``{}``).
    """
    from movie_ratings.schema import LABEL, UPCOMING_STATUSES

    rated = pc.is_valid(view[LABEL])
    upcoming = pc.and_(pc.invert(rated), pc.is_in(view["status"], value_set=pa.array(UPCOMING_STATUSES)))
    rated_rows, upcoming_rows = view.filter(rated), view.filter(pc.fill_null(upcoming, False))
    if rated_rows.num_rows < min_films or upcoming_rows.num_rows < min_films:
        return {}
    rates = {}
    for column in DROPPABLE:
        m_rated = float(_missing(rated_rows, column).mean())
        m_upcoming = float(_missing(upcoming_rows, column).mean())
        if m_upcoming > m_rated and m_rated < 1:
            rates[column] = round((m_upcoming - m_rated) / (1 - m_rated), 4)
    return rates


def drop_metadata(table: pa.Table, rates: dict[str, float], seed: int) -> pa.Table:
    """A copy of ``table`` where each field of each row is nulled with its rate (seeded)."""
    rng = np.random.default_rng([seed, 7])
    out = table
    for column, rate in sorted(rates.items()):
        if rate <= 0 or column not in out.column_names:
            continue
        drop = pa.array(rng.random(out.num_rows) < rate)
        for name in (column, *DROPPABLE.get(column, ())):
            if name in out.column_names:
                values = out[name]
                nulled = pc.if_else(drop, pa.scalar(None, values.type), values)
                out = out.set_column(out.column_names.index(name), name, nulled)
    return out
