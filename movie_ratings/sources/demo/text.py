"""Titles, original titles, taglines, overviews and poster paths of simulated films."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.sources.demo.lists import assemble, film_index, positions, take_words
from movie_ratings.sources.demo.streams import Streams, cdf_of, steps
from movie_ratings.sources.demo.vocabulary import (
    CODAS,
    FIRST_NAMES,
    LANGUAGES,
    NICKNAMES,
    OBJECTS,
    ORIGINAL_WORDS,
    POSTER_ALPHABET,
    SEQUEL_MARKS,
    SETTINGS,
    SUBJECTS,
    TAGLINES,
    TITLE_ADJECTIVES,
    TITLE_NOUNS,
    VERBS,
)


def overviews(
    s: Streams, n_sentences: np.ndarray
) -> tuple[pa.Array, list[tuple[tuple[str, ...], np.ndarray, np.ndarray]]]:
    """Overview texts, and which phrases each film's overview uses (for the hidden rating)."""
    n = s.n
    rows = film_index(n_sentences)
    first = positions(rows, n) == 0
    u_kind = s.uniform(n_sentences)
    # First sentences introduce someone; later ones may also be a stock closing line.
    kind = np.where(
        first,
        np.select([u_kind < 0.5, u_kind < 0.8], [0, 1], 2),
        np.select([u_kind < 0.35, u_kind < 0.7, u_kind < 0.9], [3, 0, 1], 2),
    )
    subj = s.index(cdf_of(np.ones(len(SUBJECTS))), n_sentences)
    verb = s.index(cdf_of(np.ones(len(VERBS))), n_sentences)
    obj = s.index(cdf_of(np.ones(len(OBJECTS))), n_sentences)
    setting = s.index(cdf_of(np.ones(len(SETTINGS))), n_sentences)
    nick = s.index(cdf_of(np.ones(len(NICKNAMES))), n_sentences)
    coda = s.index(cdf_of(np.ones(len(CODAS))), n_sentences)
    subjects_cap = [p[0].upper() + p[1:] for p in SUBJECTS]
    settings_cap = [p[0].upper() + p[1:] for p in SETTINGS]
    join = pc.binary_join_element_wise

    def pick(words: tuple[str, ...] | list[str], index: np.ndarray, k: int) -> pa.Array:
        return take_words(words, index[kind == k])

    pieces = [
        join(
            pick(subjects_cap, subj, 0),
            pick(VERBS, verb, 0),
            pick(OBJECTS, obj, 0),
            join(pick(SETTINGS, setting, 0), ".", ""),
            " ",
        ),
        join(
            join(pick(settings_cap, setting, 1), ",", ""),
            pick(SUBJECTS, subj, 1),
            pick(VERBS, verb, 1),
            join(pick(OBJECTS, obj, 1), ".", ""),
            " ",
        ),
        join(
            pick(subjects_cap, subj, 2),
            ', known only as "',
            pick(NICKNAMES, nick, 2),
            '", ',
            pick(VERBS, verb, 2),
            " ",
            pick(OBJECTS, obj, 2),
            ".",
            "",
        ),
        pick(CODAS, coda, 3),
    ]
    sentences = assemble(pieces, kind)
    # Most overviews are one paragraph; a few break lines like the real ones do.
    u_break = s.uniform()
    separator = take_words((" ", "\n", "\n\n", "\r\n"), steps(u_break, (0.05, 0.03, 0.005)))
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(n_sentences, out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets), sentences, mask=pa.array(n_sentences == 0))
    overview = pc.binary_join(lists, separator)
    told = kind < 3
    parts = [
        (SUBJECTS, subj[told], rows[told]),
        (VERBS, verb[told], rows[told]),
        (OBJECTS, obj[told], rows[told]),
        (SETTINGS, setting[kind < 2], rows[kind < 2]),
        (NICKNAMES, nick[kind == 2], rows[kind == 2]),
        (CODAS, coda[kind == 3], rows[kind == 3]),
    ]
    return overview, parts


def titles(s: Streams, lang_idx: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """English titles, and original titles in the film's language where it differs."""
    adjective = s.index(cdf_of(np.ones(len(TITLE_ADJECTIVES))))
    noun, noun2 = (s.index(cdf_of(np.ones(len(TITLE_NOUNS)))) for _ in range(2))
    first_name = s.index(cdf_of(np.ones(len(FIRST_NAMES))))
    mark = s.index(cdf_of(np.ones(len(SEQUEL_MARKS))))
    pattern = s.index(cdf_of((0.18, 0.12, 0.12, 0.15, 0.08, 0.07, 0.05, 0.03, 0.07, 0.13)))
    join = pc.binary_join_element_wise

    def words(vocabulary: tuple[str, ...], index: np.ndarray, k: int) -> pa.Array:
        return take_words(vocabulary, index[pattern == k])

    a, nn, n2 = TITLE_ADJECTIVES, TITLE_NOUNS, TITLE_NOUNS
    pieces = [
        join("The", words(a, adjective, 0), words(nn, noun, 0), " "),
        words(nn, noun, 1),
        join(words(nn, noun, 2), "of the", words(n2, noun2, 2), " "),
        join(words(a, adjective, 3), words(nn, noun, 3), " "),
        join("The ", words(nn, noun, 4), "'s ", words(n2, noun2, 4), ""),
        join(words(nn, noun, 5), ": ", words(a, adjective, 5), " ", words(n2, noun2, 5), ""),
        join(words(nn, noun, 6), ", ", words(n2, noun2, 6), ""),
        join('The "', words(a, adjective, 7), '" ', words(nn, noun, 7), ""),
        join(words(FIRST_NAMES, first_name, 8), "'s ", words(nn, noun, 8), ""),
        join(words(a, adjective, 9), words(nn, noun, 9), words(SEQUEL_MARKS, mark, 9), " "),
    ]
    title = assemble(pieces, pattern)

    original = title
    w1, w2 = s.uniform(), s.uniform()
    codes = [code for code, _, _, _ in LANGUAGES]
    for code, (vocabulary, joiner) in ORIGINAL_WORDS.items():
        mine = lang_idx == codes.index(code)
        i1 = np.floor(w1[mine] * len(vocabulary)).astype(np.int64)
        i2 = np.floor(w2[mine] * len(vocabulary)).astype(np.int64)
        localized = join(take_words(vocabulary, i1), joiner, take_words(vocabulary, i2), "")
        original = pc.replace_with_mask(original, pa.array(mine), localized)
    return title, original


def taglines(s: Streams) -> pa.Array:
    stock = s.index(cdf_of(np.ones(len(TAGLINES))))
    adjective = s.index(cdf_of(np.ones(len(TITLE_ADJECTIVES))))
    noun = s.index(cdf_of(np.ones(len(TITLE_NOUNS))))
    pattern = s.index(cdf_of((0.5, 0.25, 0.25)))
    join = pc.binary_join_element_wise
    lower_nouns = [w.lower() for w in TITLE_NOUNS]
    pieces = [
        take_words(TAGLINES, stock[pattern == 0]),
        join("Every ", take_words(lower_nouns, noun[pattern == 1]), " has a secret.", ""),
        join(
            "The ",
            take_words(TITLE_ADJECTIVES, adjective[pattern == 2]),
            " ",
            take_words(TITLE_NOUNS, noun[pattern == 2]),
            " awaits.",
            "",
        ),
    ]
    return assemble(pieces, pattern)


def poster_paths(s: Streams) -> pa.Array:
    """``/`` + 27 random letters and digits + ``.jpg``, like TMDB poster paths."""
    n = s.n
    alphabet = np.frombuffer(POSTER_ALPHABET, dtype=np.uint8)
    chars = alphabet[s.draw("integers", 27, low=0, high=len(alphabet))]
    offsets = (np.arange(n + 1) * 27).astype(np.int32)
    names = pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars))
    )
    return pc.binary_join_element_wise("/", names, ".jpg", "")

