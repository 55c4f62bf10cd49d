"""Film text for the text score: one lowercase string per film, and its word and bigram
tokens."""

from __future__ import annotations

import re
from itertools import pairwise

import pyarrow as pa
import pyarrow.compute as pc

TEXT_COLUMNS: tuple[str, ...] = ("title", "tagline", "overview")

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
    texts: list[str] = pc.utf8_lower(joined).to_pylist()
    return texts
