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
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from movie_ratings import schema
from movie_ratings.sources.base import Snapshot

__all__ = ["DEMO_EPOCH", "DemoSource", "demo_snapshot", "write_snapshot_csv"]

#: First day of the demo feed: the snapshot of this day holds exactly ``size`` films.
DEMO_EPOCH: date = date(2026, 1, 1)

# --------------------------------------------------------------------------------------
# Vocabulary (plain constants: nothing is computed at import time)
# --------------------------------------------------------------------------------------

_FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
    "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
    "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa",
    "Anthony", "Betty", "Mark", "Margaret", "Steven", "Sandra", "Paul", "Ashley",
    "Andrew", "Emily", "Joshua", "Donna", "Kenneth", "Michelle", "Kevin", "Carol",
    "Brian", "Amanda", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie",
    "Jason", "Rebecca", "Edward", "Laura", "Jeffrey", "Sharon", "Ryan", "Cynthia",
    "Jacob", "Kathleen", "Gary", "Amy", "Nicholas", "Angela", "Eric", "Helen",
    "Jonathan", "Anna", "Stephen", "Brenda", "Larry", "Pamela", "Justin", "Nicole",
    "Scott", "Emma", "Frank", "Samantha", "Benjamin", "Katherine", "Gregory", "Christine",
    "Samuel", "Rachel", "Raymond", "Catherine", "Patrick", "Carolyn", "Alexander", "Janet",
    "Jack", "Ruth", "Dennis", "Maria", "Jerry", "Heather", "Tyler", "Diane", "Aaron",
    "Julie", "Henry", "Joyce", "Adam", "Victoria", "Nathan", "Olivia", "Peter", "Grace",
    "Zachary", "Lily", "Walter", "Hannah", "Harold", "Rose", "Kyle", "Claire", "Carl",
    "Alice", "Arthur", "Vera", "José", "Lucía", "Luis", "Javier", "Sofía", "Jean",
    "Marie", "François", "Céline", "Hélène", "Jérôme", "André", "Zoë", "Björn", "Søren",
    "Åsa", "Jürgen", "Günter", "Małgorzata", "Łukasz", "Dmitri", "Olga", "Giulia",
    "Marco", "Giovanni", "Chiara", "Hiroshi", "Yuki", "Kenji", "Akiko", "Min-jun",
    "Ji-woo", "Wei", "Mei", "Arjun", "Priya", "Rahul", "Aisha", "Omar", "Fatima",
    "Mehmet", "Elif", "Ingrid", "Lars", "Nils", "João", "Inês", "Sergei", "Natalia",
    "Amélie", "Raúl", "Ibrahim", "Chloé", "Noémie", "Ólafur", "Dagný", "Zoltán", "Ágnes",
    "Thiago", "Renée",
)  # fmt: skip
_LAST_PREFIXES = (
    "Ash", "Black", "Brad", "Brook", "Cald", "Clay", "Craw", "Dal", "Dun", "East", "Fair",
    "Glen", "Green", "Hal", "Hart", "Hay", "Hol", "Kings", "Lang", "Lock", "Mar", "Mid",
    "Mor", "New", "Nor", "Oak", "Pem", "Ral", "Red", "Rid", "Rock", "Rut", "Shel", "Stan",
    "Stock", "Thorn", "War", "West", "White", "Wood", "Whit", "Bar", "Cran", "Ell", "Pen",
)  # fmt: skip
_LAST_SUFFIXES = (
    "ford", "wood", "ley", "ton", "well", "man", "field", "by", "worth", "son", "more",
    "bury", "er", "ridge", "stone", "brook", "wick", "hurst", "dale", "croft",
)  # fmt: skip
_LAST_NAMES = (
    "García", "Martínez", "López", "Hernández", "González", "Pérez", "Sánchez",
    "Rodríguez", "Gómez", "Díaz", "Müller", "Schröder", "Schäfer", "Weiß", "Köhler",
    "Dubois", "Lefèvre", "Moreau", "Girard", "Bonnet", "Rossi", "Russo", "Ferrari",
    "Esposito", "Bianchi", "Romano", "Tanaka", "Suzuki", "Takahashi", "Watanabe",
    "Yamamoto", "Nakamura", "Kim", "Lee", "Park", "Choi", "Jung", "Wang", "Zhang", "Liu",
    "Chen", "Yang", "Huang", "Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer",
    "Ivanov", "Petrov", "Smirnov", "Volkova", "Kowalski", "Nowak", "Wiśniewski", "Novák",
    "Dvořák", "Jensen", "Nielsen", "Hansen", "Andersson", "Johansson", "Lindqvist",
    "Østergaard", "Kaya", "Yılmaz", "Demir", "Şahin", "Silva", "Santos", "Oliveira",
    "Costa", "Pereira", "Nguyen", "Tran", "Haddad", "Khalil", "Mansour", "O'Brien",
    "O'Connor", "McAllister", "MacLeod", "D'Angelo", "Janssen", "Kovács", "Nagy",
    "Papadopoulos", "Horvat", "Karimi", "Hosseini", "Cohen", "Levi", "Popescu", "Andrade",
)  # fmt: skip
_COMPANY_ADJECTIVES = (
    "Silver", "Golden", "Red", "Blue", "Black", "White", "Green", "Crimson", "Northern",
    "Southern", "Eastern", "Western", "Royal", "Grand", "Little", "Big", "Bright", "Dark",
    "Lucky", "Wild", "Iron", "Stone", "Crystal", "Velvet", "Electric", "Atomic", "Lunar",
    "Solar", "Midnight", "Morning", "Evening", "Hidden", "Open", "Free", "Brave", "Happy",
    "Lonely", "Rolling", "Flying", "Running", "Broken", "Secret", "Ancient", "Modern",
    "Urban", "Rural", "Coastal", "Central", "Prime", "Twin", "Seventh", "First",
)  # fmt: skip
_COMPANY_NOUNS = (
    "Lake", "River", "Hill", "Harbor", "Bridge", "Tower", "Gate", "Lion", "Eagle", "Fox",
    "Wolf", "Bear", "Horse", "Raven", "Owl", "Oak", "Pine", "Maple", "Cedar", "Rose",
    "Star", "Moon", "Sun", "Sky", "Cloud", "Rain", "Storm", "Wave", "Ocean", "Island",
    "Valley", "Canyon", "Mountain", "Forest", "Field", "Garden", "Road", "Street",
    "Avenue", "Square", "Lantern", "Mirror", "Window", "Door", "Frame", "Reel", "Lens",
    "Camera", "Screen", "Stage", "Curtain", "Ticket", "Dream", "Story", "Picture",
    "Light", "Shadow", "Spark", "Echo", "Anchor",
)  # fmt: skip
_COMPANY_KINDS = (
    "Pictures", "Films", "Entertainment", "Studios", "Productions", "Media",
    "Film Company", "Motion Pictures", "Filmworks", "Cinema",
)  # fmt: skip

#: (ISO 639-1 code, share of films, TMDB language name, production countries).
_LANGUAGES: tuple[tuple[str, float, str, tuple[str, ...]], ...] = (
    ("en", 0.500, "English", ("United States of America", "United Kingdom", "Canada", "Australia", "Ireland", "New Zealand")),
    ("fr", 0.065, "French", ("France", "Belgium", "Canada", "Switzerland")),
    ("es", 0.060, "Spanish", ("Spain", "Mexico", "Argentina", "Colombia", "Chile")),
    ("ja", 0.050, "Japanese", ("Japan",)),
    ("de", 0.045, "German", ("Germany", "Austria", "Switzerland")),
    ("it", 0.030, "Italian", ("Italy",)),
    ("ko", 0.020, "Korean", ("South Korea",)),
    ("zh", 0.025, "Mandarin", ("China", "Taiwan", "Hong Kong")),
    ("hi", 0.020, "Hindi", ("India",)),
    ("pt", 0.025, "Portuguese", ("Brazil", "Portugal")),
    ("ru", 0.025, "Russian", ("Russia", "Soviet Union")),
    ("sv", 0.010, "Swedish", ("Sweden",)),
    ("nl", 0.010, "Dutch", ("Netherlands", "Belgium")),
    ("tr", 0.010, "Turkish", ("Turkey",)),
    ("da", 0.007, "Danish", ("Denmark",)),
    ("pl", 0.008, "Polish", ("Poland",)),
    ("cs", 0.005, "Czech", ("Czech Republic",)),
    ("fi", 0.005, "Finnish", ("Finland",)),
    ("no", 0.005, "Norwegian", ("Norway",)),
    ("fa", 0.005, "Persian", ("Iran",)),
    ("ar", 0.006, "Arabic", ("Egypt", "Lebanon", "Morocco")),
    ("ta", 0.006, "Tamil", ("India",)),
    ("te", 0.004, "Telugu", ("India",)),
    ("ml", 0.004, "Malayalam", ("India",)),
    ("el", 0.004, "Greek", ("Greece",)),
    ("hu", 0.004, "Hungarian", ("Hungary",)),
    ("th", 0.004, "Thai", ("Thailand",)),
    ("tl", 0.004, "Tagalog", ("Philippines",)),
    ("id", 0.004, "Indonesian", ("Indonesia",)),
    ("cn", 0.006, "Cantonese", ("Hong Kong",)),
    ("he", 0.003, "Hebrew", ("Israel",)),
    ("ro", 0.003, "Romanian", ("Romania",)),
)  # fmt: skip
#: Relative frequency of each TMDB genre, in :data:`schema.GENRES` order.
_GENRE_WEIGHTS = (
    0.05, 0.03, 0.05, 0.14, 0.04, 0.10, 0.22, 0.03, 0.025, 0.02,
    0.06, 0.03, 0.025, 0.05, 0.025, 0.03, 0.06, 0.015, 0.01,
)  # fmt: skip

_TITLE_ADJECTIVES = (
    "Last", "Silent", "Dark", "Broken", "Hidden", "Golden", "Lost", "Final", "Secret",
    "Wild", "Midnight", "Crimson", "Empty", "Forgotten", "Little", "Endless", "Eternal",
    "Frozen", "Burning", "Savage", "Sweet", "Bitter", "Quiet", "Restless", "Hollow",
    "Perfect", "Fallen", "Distant", "Iron", "Velvet", "Naked", "Invisible", "Electric",
    "Lonely", "Beautiful", "Dangerous", "Infinite", "Ordinary", "Sacred", "Wicked",
)  # fmt: skip
_TITLE_NOUNS = (
    "Road", "House", "River", "Night", "Summer", "Winter", "City", "Garden", "Heart",
    "Promise", "Shadow", "Storm", "Island", "Kingdom", "Mirror", "Dream", "Letter",
    "Station", "Harvest", "Frontier", "Journey", "Witness", "Stranger", "Machine",
    "Paradise", "Ocean", "Mountain", "Empire", "Legacy", "Secret", "Hunter", "Daughter",
    "Son", "Mother", "Father", "Soldier", "Game", "Voice", "Fire", "Rain", "Café",
    "Déjà Vu", "Fiancée", "Piñata", "Sky", "Moon", "Blood", "Silence", "Echo", "Horizon",
)  # fmt: skip
_SEQUEL_MARKS = ("2", "3", "II", "III", "4", "Returns", "Reloaded", "Forever", "Rising")
#: Original titles of films in some languages: (words, joiner between two words).
_ORIGINAL_WORDS: dict[str, tuple[tuple[str, ...], str]] = {
    "fr": (("Rêve", "Fenêtre", "Forêt", "Été", "Mémoire", "Cœur", "Château", "Départ", "Rivière", "Soirée", "Lumière", "Frère"), " et "),
    "es": (("Niño", "Corazón", "Canción", "Señor", "Mañana", "Jardín", "Río", "Ciudad", "Noche", "Camión"), " y "),
    "de": (("Straße", "Mädchen", "Größe", "Tür", "Brücke", "Nacht", "Wald", "Spiel", "Übermut", "Käfig"), " und "),
    "it": (("Città", "Notte", "Verità", "Amore", "Viaggio", "Perché", "Giustizia", "Caffè", "Libertà"), " e "),
    "ja": (("夜", "東京", "約束", "記憶", "夏", "海", "影", "花", "雨", "桜", "少女", "旅"), "の"),
    "zh": (("长夜", "城市", "秘密", "风", "山", "河", "梦", "家", "英雄", "青春"), "的"),
    "ko": (("밤", "서울", "기억", "여름", "바다", "그림자", "비밀", "사랑", "약속"), "의 "),
}  # fmt: skip
_SUBJECTS = (
    "a young woman", "an aging detective", "two brothers", "a retired soldier",
    "a struggling musician", "a small-town sheriff", "a brilliant scientist",
    "a group of teenagers", "a grieving widow", "an ambitious journalist", "a lonely boy",
    "a former boxer", "a family", "a mysterious stranger", "a reluctant hero",
    "three friends", "a single mother", "an undercover cop", "a shy teenager",
    "a war veteran", "a documentary crew", "a con artist", "a disgraced priest",
    "a young couple", "a holocaust survivor", "a washed-up actor", "a team of astronauts",
    "a village doctor", "an orphan girl", "a hitman", "a cheerleader", "a painter",
)  # fmt: skip
_VERBS = (
    "must confront", "discovers", "sets out to find", "tries to escape",
    "falls in love with", "investigates", "is haunted by", "returns home to face",
    "fights to protect", "uncovers", "teams up with", "is hunted by",
    "struggles to survive", "comes to terms with", "plans a heist against",
    "searches for", "documents", "must stop",
)  # fmt: skip
_OBJECTS = (
    "a dangerous secret", "the truth about her past", "a haunted house",
    "a zombie outbreak", "a corrupt politician", "a forgotten love", "an ancient curse",
    "a serial killer", "the meaning of family", "a lost treasure", "a deadly virus",
    "an alien invasion", "a powerful drug cartel", "the ghosts of the war",
    "his estranged father", "a world on the brink", "a masked killer",
    "the memory of a friend", "a runaway bride", "a demon", "a cursed video tape",
    "the last days of a dictator", "a betrayal", "an impossible dream",
    "the fate of a nation", "a stolen painting", "a forbidden romance",
    "a mysterious island", "the power of music", "a broken marriage",
)  # fmt: skip
_SETTINGS = (
    "in 1940s Berlin", "in a small town", "in post-war Japan", "on a remote island",
    "in the streets of Paris", "in modern-day New York", "during the Great Depression",
    "in a dystopian future", "in rural India", "at the edge of the world",
    "in a Seoul high school", "during the Cold War", "in a snowbound cabin",
    "in the Mexican desert", "aboard a spaceship", "in Victorian London",
)  # fmt: skip
_NICKNAMES = ("The Fox", "Doc", "Ghost", "Lucky", "The Kid", "Señorita", "Mr. Nobody", "Mamá")
_CODAS = (
    "But nothing is what it seems.", "Based on a true story.", "Time is running out.",
    "Along the way, they find more than they bargained for.",
    "What begins as a game soon turns deadly.", 'Nobody said "goodbye" would be easy.',
    "A story of courage, loss and hope.", "Inspired by real events.",
    "Blood will be spilled.", "Some doors, once opened, can never be closed.",
    "Friendship, it turns out, is the hardest part.", "The sequel nobody asked for.",
)  # fmt: skip
_TAGLINES = (
    "Every secret has a price.", "The past never dies.", "One night. One chance.",
    "Nobody gets out alive.", "Love is a battlefield.", "Based on a true story.",
    "Some promises are meant to be broken.", "Fear has a new name.",
    "The adventure of a lifetime.", 'They called it "paradise".', "Family comes first.",
    "Run.", "Justice has no borders.", "Don't look back.", "The truth will set you free.",
)  # fmt: skip
_POSTER_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

# Film lifecycle, in days relative to the release date.
_IN_PRODUCTION_FROM = -365
_POST_PRODUCTION_FROM = -120
_RAMP_DAYS = 30  # IMDb numbers drift for this many days after release, then stay put
_UPDATE_EVERY = 7  # within the ramp a film's numbers move only every 7th day
_ABSURD_RUNTIME_EVERY = 4_000
_NEVER = 10**9  # a day that never comes (for deletions and undated releases)
_IMDB_MODULUS = 40_000_000  # coprime with the multiplier below, so imdb ids are unique
_IMDB_MULTIPLIER = 7_919_317
#: Standard deviation of a person's change of quality per decade (around 2000).
_QUALITY_DRIFT = 0.35
#: Standard deviation of the part of a film's rating that no input shows (its execution),
#: on top of the noise of the rating itself.
_UNSEEN_QUALITY = 0.35
#: Standard deviation of a director's knack for a genre (director x first genre).
_GENRE_KNACK = 0.3
#: Before release, the share of films whose field is not known yet (TMDB fills upcoming
#: films in as they come closer: runtime, budget and crew are often missing).
_HIDDEN_BEFORE_RELEASE: dict[str, float] = {
    "runtime": 0.55, "budget": 0.6, "overview": 0.25, "tagline": 0.5, "cast": 0.3,
    "director": 0.08, "writers": 0.35, "producers": 0.4, "music_composer": 0.6,
    "director_of_photography": 0.55,
}


def _status_code(name: str) -> int:
    return schema.STATUSES.index(name)


# --------------------------------------------------------------------------------------
# Random streams
# --------------------------------------------------------------------------------------


class _Streams:
    """Random draws for films whose randomness comes from several independent streams.

    Films are grouped (the base films in one group, the films of each added day in their
    own) and every draw takes, for each group, a block from that group's generator, so a
    group's films never depend on how many other groups there are.
    """

    def __init__(self, generators: list[np.random.Generator], sizes: np.ndarray) -> None:
        self._generators = generators
        self._sizes = np.asarray(sizes, dtype=np.int64)
        self._group = np.repeat(np.arange(len(generators)), self._sizes)
        self.n = int(self._sizes.sum())

    def draw(self, method: str, per_film: int | np.ndarray = 1, **kwargs: float) -> np.ndarray:
        """Draw ``per_film`` values per film (a count or one count per film), film by film."""
        if isinstance(per_film, np.ndarray):
            totals = np.bincount(self._group, weights=per_film, minlength=len(self._sizes))
        else:
            totals = self._sizes * per_film
        parts = [
            getattr(gen, method)(size=int(total), **kwargs)
            for gen, total in zip(self._generators, totals, strict=True)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def uniform(self, per_film: int | np.ndarray = 1) -> np.ndarray:
        return self.draw("random", per_film)

    def normal(self, per_film: int | np.ndarray = 1) -> np.ndarray:
        return self.draw("standard_normal", per_film)

    def index(self, cdf: np.ndarray, per_film: int | np.ndarray = 1) -> np.ndarray:
        """Indices drawn from the distribution with cumulative weights ``cdf``."""
        picks = np.searchsorted(cdf, self.uniform(per_film) * cdf[-1], side="right")
        return np.minimum(picks, len(cdf) - 1)


def _cdf(weights: np.ndarray | tuple[float, ...] | list[float]) -> np.ndarray:
    return np.cumsum(np.asarray(weights, dtype=np.float64))


def _zipf_cdf(n: int, exponent: float, offset: float) -> np.ndarray:
    """Cumulative weights of ranks 0..n-1 under a Zipf-like law (a few names reused a lot)."""
    return _cdf((np.arange(n) + offset) ** -exponent)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------------------
# Pools of people and companies
# --------------------------------------------------------------------------------------

#: (films per person at which the pool stops growing, min, max pool size, Zipf exponent).
_ROLES: dict[str, tuple[int, int, int, float]] = {
    "director": (6, 300, 30_000, 0.9),
    "writer": (5, 400, 40_000, 0.9),
    "producer": (5, 400, 40_000, 1.0),
    "cast": (2, 1_000, 150_000, 0.9),
    "composer": (20, 100, 8_000, 1.0),
    "dop": (15, 150, 10_000, 1.0),
}


@dataclass(frozen=True)
class _Pools:
    """Names and latent qualities of the people and companies films draw from."""

    people: pa.Array
    quality: np.ndarray
    drift: np.ndarray  # change of quality per decade: careers rise and fade
    role_start: dict[str, int]
    role_cdf: dict[str, np.ndarray]
    companies: pa.Array
    company_quality: np.ndarray
    company_cdf: np.ndarray
    imdb_offset: int


def _pools(seed: int, size: int) -> _Pools:
    """People and companies for a feed of ``size`` films (larger feeds get larger pools)."""
    rng = np.random.default_rng([seed, 2])
    role_sizes = {
        role: int(np.clip(size // per, low, high)) for role, (per, low, high, _) in _ROLES.items()
    }
    total = sum(role_sizes.values())
    last_names = [p + s for p in _LAST_PREFIXES for s in _LAST_SUFFIXES] + list(_LAST_NAMES)
    n_first, n_last = len(_FIRST_NAMES), len(last_names)
    # Plain "First Last" names first; only very large feeds need middle initials.
    n_plain = n_first * n_last
    picks = rng.choice(n_plain, size=min(total, n_plain), replace=False)
    if total > n_plain:
        with_initial = n_plain + rng.choice(26 * n_plain, size=total - n_plain, replace=False)
        picks = np.concatenate([picks, with_initial])
    first = pa.array(_FIRST_NAMES).take(pa.array(picks % n_plain // n_last))
    last = pa.array(last_names).take(pa.array(picks % n_last))
    initials = pa.array(["", *(f"{chr(65 + i)}. " for i in range(26))])
    middle = initials.take(pa.array(picks // n_plain))
    people = pc.binary_join_element_wise(first, pc.binary_join_element_wise(middle, last, ""), " ")
    quality = rng.standard_normal(total)

    starts = np.cumsum([0, *role_sizes.values()])[:-1]
    role_start = {role: int(s) for role, s in zip(role_sizes, starts, strict=True)}
    role_cdf = {
        role: _zipf_cdf(role_sizes[role], _ROLES[role][3], offset=10.0) for role in role_sizes
    }

    n_companies = int(np.clip(size // 6, 200, 20_000))
    n_kinds, n_nouns = len(_COMPANY_KINDS), len(_COMPANY_NOUNS)
    combos = rng.choice(len(_COMPANY_ADJECTIVES) * n_nouns * n_kinds, n_companies, replace=False)
    companies = pc.binary_join_element_wise(
        pa.array(_COMPANY_ADJECTIVES).take(pa.array(combos // (n_nouns * n_kinds))),
        pa.array(_COMPANY_NOUNS).take(pa.array(combos // n_kinds % n_nouns)),
        pa.array(_COMPANY_KINDS).take(pa.array(combos % n_kinds)),
        " ",
    )
    company_quality = rng.standard_normal(n_companies)
    imdb_offset = int(rng.integers(0, _IMDB_MODULUS))
    return _Pools(
        people=people,
        quality=quality,
        drift=_QUALITY_DRIFT * rng.standard_normal(total),
        role_start=role_start,
        role_cdf=role_cdf,
        companies=companies,
        company_quality=company_quality,
        company_cdf=_zipf_cdf(n_companies, 1.0, offset=5.0),
        imdb_offset=imdb_offset,
    )


# --------------------------------------------------------------------------------------
# Vectorised string building
# --------------------------------------------------------------------------------------


def _take(words: tuple[str, ...] | list[str] | pa.Array, index: np.ndarray) -> pa.Array:
    values = words if isinstance(words, pa.Array) else pa.array(words, pa.string())
    return values.take(pa.array(index))


def _null_where(values: pa.Array, null: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(null), pa.scalar(None, values.type), values)


def _rows(counts: np.ndarray) -> np.ndarray:
    """Film index of every item of film-major lists with ``counts`` items per film."""
    return np.repeat(np.arange(len(counts)), counts)


def _first_occurrences(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Mask keeping the first occurrence of each item within each film's list."""
    if len(items) == 0:
        return np.ones(0, dtype=bool)
    key = rows.astype(np.int64) * (int(items.max()) + 1) + items
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    keep = np.ones(len(items), dtype=bool)
    keep[order[1:][ordered[1:] == ordered[:-1]]] = False
    return keep


def _joined_lists(
    names: pa.Array, rows: np.ndarray, items: np.ndarray, n: int, separator: str | pa.Array
) -> pa.Array:
    """Join each film's items into one string (null for an empty list)."""
    counts = np.bincount(rows, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    lists = pa.ListArray.from_arrays(
        pa.array(offsets), names.take(pa.array(items)), mask=pa.array(counts == 0)
    )
    return pc.binary_join(lists, separator)


def _positions(rows: np.ndarray, n: int) -> np.ndarray:
    """Position of every item within its film's list (0 for the first)."""
    counts = np.bincount(rows, minlength=n)
    starts = np.cumsum(counts) - counts
    return np.arange(len(rows)) - starts[rows]


def _hash_normal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random standard-normal-like value per pair (a, b) (sum of 4 uniforms
    from a multiplicative hash): no table of all pairs is ever built."""
    key = (a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ (
        (b.astype(np.int64) + 1).astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F))
    total = np.zeros(len(key))
    for shift in (0, 16, 32, 48):
        total += ((key >> np.uint64(shift)) & np.uint64(0xFFFF)).astype(np.float64) / 65535.0
    return (total - 2.0) / np.sqrt(4 / 12)


def _mean_by_film(
    rows: np.ndarray, values: np.ndarray, n: int, weights: np.ndarray | None = None
) -> np.ndarray:
    w = np.ones(len(rows)) if weights is None else weights
    total = np.bincount(rows, weights=values * w, minlength=n)
    norm = np.bincount(rows, weights=w, minlength=n)
    return np.divide(total, norm, out=np.zeros(n), where=norm > 0)


def _assemble(pieces: list[pa.Array], kinds: np.ndarray) -> pa.Array:
    """Interleave ``pieces[k]`` (the values of the rows of kind ``k``, in row order)."""
    order = np.argsort(kinds, kind="stable")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays(pieces).take(pa.array(inverse))


# --------------------------------------------------------------------------------------
# Films
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Films:
    """Latent properties of films; their row on a date is derived by :func:`_rows_on`."""

    id: np.ndarray
    delete_day: np.ndarray
    release_day: np.ndarray
    has_date: np.ndarray
    fixed_status: np.ndarray  # -1: follows the release date
    first_update: np.ndarray  # days after release when IMDb numbers first show
    rated: np.ndarray
    rating: np.ndarray
    rating_drift: np.ndarray
    imdb_votes: np.ndarray
    vote_count: np.ndarray
    vote_average: np.ndarray
    vote_drift: np.ndarray
    popularity: np.ndarray
    popularity_before: np.ndarray
    revenue: np.ndarray
    runtime: np.ndarray
    budget: np.ndarray
    # Before release: the same fields as far as they are known then (sparser).
    runtime_before: np.ndarray
    budget_before: np.ndarray
    before: dict
    # Columns that never change once the film is out, already in raw-file form.
    title: pa.Array
    original_title: pa.Array
    release_date: pa.Array
    imdb_id: pa.Array
    original_language: pa.Array
    overview: pa.Array
    tagline: pa.Array
    genres: pa.Array
    production_companies: pa.Array
    production_countries: pa.Array
    spoken_languages: pa.Array
    cast: pa.Array
    director: pa.Array
    director_of_photography: pa.Array
    writers: pa.Array
    producers: pa.Array
    music_composer: pa.Array
    poster_path: pa.Array


def _concat_films(parts: list[_Films]) -> _Films:
    if len(parts) == 1:
        return parts[0]
    merged: dict = {}
    for f in fields(_Films):
        values = [getattr(p, f.name) for p in parts]
        if isinstance(values[0], dict):
            merged[f.name] = {k: pa.concat_arrays([v[k] for v in values]) for k in values[0]}
        elif isinstance(values[0], pa.Array):
            merged[f.name] = pa.concat_arrays(values)
        else:
            merged[f.name] = np.concatenate(values)
    return _Films(**merged)


def _dates_and_statuses(
    s: _Streams, created: np.ndarray, added: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Release day, whether it is known, fixed status (-1 = by date) and deletion day."""
    n = s.n
    u_kind, u_date, u_future, u_sub, u_delete, u_delete_day = (s.uniform() for _ in range(6))
    fixed = np.full(n, -1, dtype=np.int8)
    has_date = np.ones(n, dtype=bool)
    released, planned = _status_code("Released"), _status_code("Planned")
    in_production, post = _status_code("In Production"), _status_code("Post Production")
    rumored = np.zeros(n, dtype=bool)
    delete_day = np.full(n, _NEVER, dtype=np.int64)
    if added:
        # Newly announced films: at least four months away, or undated, or only rumoured.
        release_day = created + 121 + np.floor(1000 * u_date**1.3).astype(np.int64)
        rumored = u_kind < 0.25
        undated = (u_kind >= 0.25) & (u_kind < 0.40)
        fixed[undated] = np.where(u_sub[undated] < 0.6, planned, in_production)
        has_date[undated] = False
        has_date[rumored] = u_sub[rumored] < 0.5
        # Duplicate or spam entries get deleted a few weeks after creation.
        doomed = rumored & (u_delete < 0.4)
        delete_day[doomed] = (
            created[doomed] + 1 + np.floor(-25 * np.log1p(-u_delete_day[doomed])).astype(np.int64)
        )
    else:
        # Most films are released; dates skew to recent years, 4.5% lie in the next 2 years.
        span = (DEMO_EPOCH - date(1900, 1, 1)).days
        scale = 20 * 365.25
        back = -scale * np.log1p(-u_date * (1 - np.exp(-span / scale)))
        future = 1 + np.floor(730 * u_date**1.6)
        release_day = np.where(u_future < 0.045, future, -np.floor(back)).astype(np.int64)
        undated_released = u_kind < 0.010
        canceled = (u_kind >= 0.010) & (u_kind < 0.014)
        rumored = (u_kind >= 0.014) & (u_kind < 0.026)
        undated = (u_kind >= 0.026) & (u_kind < 0.038)
        fixed[undated_released] = released
        has_date[undated_released | undated] = False
        fixed[canceled] = _status_code("Canceled")
        has_date[canceled] = u_sub[canceled] < 0.5
        has_date[rumored] = u_sub[rumored] < 0.4
        sub = u_sub[undated]
        fixed[undated] = np.where(sub < 0.5, planned, np.where(sub < 0.85, in_production, post))
        doomed = rumored & (u_delete < 0.25)
        delete_day[doomed] = 1 + np.floor(1500 * u_delete_day[doomed]).astype(np.int64)
    fixed[rumored] = _status_code("Rumored")
    release_day = np.where(has_date, release_day, _NEVER)
    return release_day, has_date, fixed, delete_day


def _people(
    s: _Streams, pools: _Pools, role: str, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Film index and global person index of each listed person (duplicates dropped)."""
    people = pools.role_start[role] + s.index(pools.role_cdf[role], counts)
    rows = _rows(counts)
    keep = _first_occurrences(rows, people)
    return rows[keep], people[keep]


def _count(s: _Streams, fame: np.ndarray, bias: float, extra: np.ndarray) -> np.ndarray:
    """List length: 0 with probability sigmoid(bias - 2 * fame), else 1 + extra."""
    empty = s.uniform() < _sigmoid(bias - 2.0 * fame)
    return np.where(empty, 0, 1 + extra).astype(np.int64)


def _steps(u: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """Number of thresholds above ``u`` (a small discrete count)."""
    return np.asarray(sum((u < t).astype(np.int64) for t in thresholds))


def _make_films(
    s: _Streams, ids: np.ndarray, created: np.ndarray, *, added: bool, pools: _Pools
) -> _Films:
    """Draw the latent properties of films ``ids`` from the streams ``s``."""
    n = s.n
    fame = s.normal() - (0.2 if added else 0.0)
    release_day, has_date, fixed, delete_day = _dates_and_statuses(s, created, added)

    # Language, countries and spoken languages.
    lang_idx = s.index(_cdf([w for _, w, _, _ in _LANGUAGES]))
    codes = pa.array([code for code, _, _, _ in _LANGUAGES])
    country_names = sorted({c for *_, cs in _LANGUAGES for c in cs})
    country_of = {c: i for i, c in enumerate(country_names)}
    width = max(len(cs) for *_, cs in _LANGUAGES)
    lang_countries = np.array(
        [[country_of[cs[min(j, len(cs) - 1)]] for j in range(width)] for *_, cs in _LANGUAGES]
    )
    n_lang_countries = np.array([len(cs) for *_, cs in _LANGUAGES])
    u_home, u_which = s.uniform(), s.uniform()
    home_pick = np.where(
        u_home < 0.7, 0, np.floor(u_which * n_lang_countries[lang_idx]).astype(np.int64)
    )
    home = lang_countries[lang_idx, home_pick]
    n_countries = _count(s, fame, -1.5, _steps(s.uniform(), (0.2, 0.05)))
    extra_country = s.index(
        _cdf(np.where(np.array(country_names) == "United States of America", 20.0, 1.0)), 2
    )
    country_items = np.column_stack([home, extra_country.reshape(n, 2)])
    n_spoken = _count(s, fame, -1.4, _steps(s.uniform(), (0.25, 0.06)))
    english = 0
    extra_lang = s.index(_cdf([w for _, w, _, _ in _LANGUAGES]), 2).reshape(n, 2)
    extra_lang[:, 0] = np.where(s.uniform() < 0.5, english, extra_lang[:, 0])
    spoken_items = np.column_stack([lang_idx, extra_lang])

    def slots(items: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        take = np.arange(items.shape[1]) < counts[:, None]
        rows, values = np.nonzero(take)[0], items[take]
        keep = _first_occurrences(rows, values)
        return rows[keep], values[keep]

    c_rows, c_items = slots(country_items, n_countries)
    production_countries = _joined_lists(
        pa.array(country_names), c_rows, c_items, n, schema.LIST_SEPARATOR
    )
    l_rows, l_items = slots(spoken_items, n_spoken)
    language_names = pa.array([name for _, _, name, _ in _LANGUAGES])
    spoken_languages = _joined_lists(language_names, l_rows, l_items, n, schema.LIST_SEPARATOR)

    # Genres: 1-3 per film, none for some obscure films.
    n_genres = _count(s, fame, -1.5, _steps(s.uniform(), (0.55, 0.2)))
    genre_items = s.index(_cdf(_GENRE_WEIGHTS), 3).reshape(n, 3)
    g_rows, g_items = slots(genre_items, n_genres)
    genres = _joined_lists(pa.array(list(schema.GENRES)), g_rows, g_items, n, schema.LIST_SEPARATOR)

    # People: richer credits for better-known films.
    n_directors = _count(s, fame, -3.0, _steps(s.uniform(), (0.08, 0.015)))
    n_cast = _count(s, fame, -1.5, np.floor(-np.exp(1.7 + 0.5 * fame) * np.log1p(-s.uniform())))
    n_cast = np.minimum(n_cast, 30)
    n_writers = _count(s, fame, -0.1, _steps(s.uniform(), (0.35, 0.1, 0.03)))
    n_producers = np.minimum(_count(s, fame, 0.5, np.floor(-1.2 * np.log1p(-s.uniform()))), 6)
    n_companies = np.minimum(_count(s, fame, -0.1, np.floor(-0.8 * np.log1p(-s.uniform()))), 5)
    n_composers = _count(s, fame, 1.2, _steps(s.uniform(), (0.08,)))
    n_dops = _count(s, fame, 0.9, _steps(s.uniform(), (0.05,)))

    d_rows, d_people = _people(s, pools, "director", n_directors)
    first_director = np.full(n, -1)
    listed_first = np.r_[True, d_rows[1:] != d_rows[:-1]] if len(d_rows) else np.ones(0, bool)
    first_director[d_rows[listed_first]] = d_people[listed_first]
    w_people = pools.role_start["writer"] + s.index(pools.role_cdf["writer"], n_writers)
    w_rows = _rows(n_writers)
    # About a third of writer lists start with the film's director (writer-directors).
    writer_director = (s.uniform() < 0.3) & (first_director >= 0) & (n_writers > 0)
    first_slot = np.cumsum(n_writers) - n_writers
    w_people[first_slot[writer_director]] = first_director[writer_director]
    keep = _first_occurrences(w_rows, w_people)
    w_rows, w_people = w_rows[keep], w_people[keep]
    cast_rows, cast_people = _people(s, pools, "cast", n_cast)
    p_rows, p_people = _people(s, pools, "producer", n_producers)
    m_rows, m_people = _people(s, pools, "composer", n_composers)
    o_rows, o_people = _people(s, pools, "dop", n_dops)
    co_items = s.index(pools.company_cdf, n_companies)
    co_rows = _rows(n_companies)
    keep = _first_occurrences(co_rows, co_items)
    co_rows, co_items = co_rows[keep], co_items[keep]

    sep = schema.LIST_SEPARATOR
    people = pools.people
    director = _joined_lists(people, d_rows, d_people, n, sep)
    writers = _joined_lists(people, w_rows, w_people, n, sep)
    cast = _joined_lists(people, cast_rows, cast_people, n, sep)
    producers = _joined_lists(people, p_rows, p_people, n, sep)
    music_composer = _joined_lists(people, m_rows, m_people, n, sep)
    director_of_photography = _joined_lists(people, o_rows, o_people, n, sep)
    production_companies = _joined_lists(pools.companies, co_rows, co_items, n, sep)

    # Runtime and budget (0 = unknown, as in the raw file).
    runtime_known = s.uniform() < _sigmoid(1.6 + 1.5 * fame)
    short = s.uniform() < 0.12
    short_minutes = 3 + np.floor(38 * s.uniform())
    feature_minutes = np.clip(np.round(97 + 18 * s.normal()), 41, 240)
    runtime = np.where(runtime_known, np.where(short, short_minutes, feature_minutes), 0.0)
    budget_known = s.uniform() < _sigmoid(-2.9 + 1.8 * fame)
    budget_value = np.clip(np.round(10 ** (6.0 + 0.5 * fame + 0.6 * s.normal()), -3), 1_000, 4e8)
    budget = np.where(budget_known, budget_value, 0.0)

    # Overview: 1-6 sentences from phrase lists; some with commas, quotes or line breaks.
    has_overview = s.uniform() < _sigmoid(2.2 + 2.0 * fame)
    n_sentences = np.where(has_overview, 1 + np.minimum(s.draw("poisson", lam=1.6), 5), 0)
    overview, overview_parts = _overviews(s, n_sentences)

    # Titles, original titles, taglines, ids and posters.
    title, original_title = _titles(s, lang_idx)
    has_tagline = s.uniform() < _sigmoid(-2.0 + 1.3 * fame)
    tagline = _null_where(_taglines(s), ~has_tagline)
    has_imdb = s.uniform() < _sigmoid(0.5 + 1.8 * fame)
    imdb_number = (ids * _IMDB_MULTIPLIER + pools.imdb_offset) % _IMDB_MODULUS + 1
    imdb_id = pc.binary_join_element_wise(
        "tt", pc.utf8_lpad(pc.cast(pa.array(imdb_number), pa.string()), 7, "0"), ""
    )
    imdb_id = _null_where(imdb_id, ~has_imdb)
    has_poster = s.uniform() < _sigmoid(1.2 + 2.0 * fame)
    poster_path = _null_where(_poster_paths(s), ~has_poster)

    year = np.where(
        has_date,
        (
            np.datetime64(DEMO_EPOCH, "D")
            + np.where(has_date, release_day, 0).astype("timedelta64[D]")
        )
        .astype("datetime64[Y]")
        .astype(np.int64)
        + 1970,
        np.nan,
    )
    # A person's quality on a film is their quality around 2000 plus their drift per
    # decade since: careers rise and fade, so a person's old films mislead a little.
    decades = np.clip(np.nan_to_num((year - 2000) / 10), -2.5, 2.5)  # a career's span

    def quality(rows: np.ndarray, who: np.ndarray) -> np.ndarray:
        return pools.quality[who] + pools.drift[who] * decades[rows]

    # A director's knack for the film's first genre: seen by no feature directly.
    first_genre = np.full(n, -1)
    listed_first_genre = _positions(g_rows, n) == 0
    first_genre[g_rows[listed_first_genre]] = g_items[listed_first_genre]
    knack = _GENRE_KNACK * _hash_normal(d_people, first_genre[d_rows])
    knack = np.where(first_genre[d_rows] >= 0, knack, 0.0)
    rating = _hidden_rating(
        genre_idx=g_items,
        genre_rows=g_rows,
        language_idx=lang_idx,
        director_q=_mean_by_film(d_rows, quality(d_rows, d_people), n)
        + _mean_by_film(d_rows, knack, n) / 0.6,
        cast_q=_mean_by_film(
            cast_rows, quality(cast_rows, cast_people), n,
            weights=1.0 / (1.0 + _positions(cast_rows, n)),
        ),
        writer_q=_mean_by_film(w_rows, quality(w_rows, w_people), n),
        company_q=_mean_by_film(co_rows, pools.company_quality[co_items], n),
        runtime=runtime,
        budget=budget,
        year=year,
        overview_parts=overview_parts,
        noise=0.6 * s.normal() + _UNSEEN_QUALITY * s.normal(),
    )

    # Post-release numbers: final values, reached over the first month after release.
    can_release = (fixed == -1) | (fixed == _status_code("Released"))
    rated = can_release & has_imdb & (fame > -0.75)
    z_votes, z_average, z_noise, z_imdb, z_pop = (s.normal() for _ in range(5))
    vote_count = np.where(
        rated,
        np.round(np.exp(1.6 + 1.6 * fame + 0.5 * z_votes)),
        np.floor(np.maximum(0.0, np.exp(0.8 * fame + 0.8 * z_votes) - 0.7)),
    )
    vote_average = np.where(
        rated,
        rating + 0.15 + 0.35 * z_average + 1.5 * z_noise / np.sqrt(np.maximum(vote_count, 1)),
        6.0 + 1.6 * z_average,
    )
    vote_average = np.clip(vote_average, 0.5, 10.0)
    imdb_votes = np.round(5 + np.exp(3.3 + 2.1 * fame + 0.6 * z_imdb + 0.35 * (rating - 6)))
    popularity = np.exp(-1.0 + 1.2 * fame + 0.5 * z_pop)
    popularity_before = popularity * (0.5 + s.uniform())
    revenue_known = s.uniform() < _sigmoid(-3.4 + 1.8 * fame)
    z_revenue = s.normal()
    revenue_value = np.where(
        budget > 0,
        budget * np.exp(0.2 + 1.0 * z_revenue),
        10 ** (5.3 + 0.9 * fame + 0.8 * z_revenue),
    )
    revenue = np.where(revenue_known, np.round(np.clip(revenue_value, 1_000, 3e9)), 0.0)
    lag = 2 + np.floor(5 * s.uniform()).astype(np.int64)
    first_update = lag + (-(lag + ids)) % _UPDATE_EVERY  # first day with (day + id) % 7 == 0
    rating_drift = 0.4 + 0.5 * s.normal()
    vote_drift = 0.3 + 0.5 * s.normal()

    # What is known before release: each field is missing for some films until they come
    # out; the cast is partly listed (the top of the billing first) or not at all.
    hidden = {name: s.uniform() < rate for name, rate in _HIDDEN_BEFORE_RELEASE.items()}
    cast_counts = np.bincount(cast_rows, minlength=n)
    listed = np.where(hidden["cast"], 0, np.ceil(cast_counts * (0.3 + 0.7 * s.uniform())))
    early = _positions(cast_rows, n) < listed[cast_rows]
    before = {
        "overview": _null_where(overview, hidden["overview"]),
        "tagline": _null_where(tagline, hidden["tagline"]),
        "cast": _joined_lists(people, cast_rows[early], cast_people[early], n, sep),
        "director": _null_where(director, hidden["director"]),
        "writers": _null_where(writers, hidden["writers"]),
        "producers": _null_where(producers, hidden["producers"]),
        "music_composer": _null_where(music_composer, hidden["music_composer"]),
        "director_of_photography": _null_where(director_of_photography,
                                                hidden["director_of_photography"]),
    }

    epoch_days = (DEMO_EPOCH - date(1970, 1, 1)).days
    release_date = (
        pa.array(np.where(has_date, release_day + epoch_days, 0).astype(np.int32), mask=~has_date)
        .cast(pa.date32())
        .cast(pa.string())
    )
    return _Films(
        id=ids,
        delete_day=delete_day,
        release_day=release_day,
        has_date=has_date,
        fixed_status=fixed,
        first_update=first_update,
        rated=rated,
        rating=rating,
        rating_drift=rating_drift,
        imdb_votes=imdb_votes,
        vote_count=vote_count,
        vote_average=vote_average,
        vote_drift=vote_drift,
        popularity=popularity,
        popularity_before=popularity_before,
        revenue=revenue,
        runtime=runtime,
        budget=budget,
        runtime_before=np.where(hidden["runtime"], 0.0, runtime),
        budget_before=np.where(hidden["budget"], 0.0, budget),
        before=before,
        title=title,
        original_title=original_title,
        release_date=release_date,
        imdb_id=imdb_id,
        original_language=codes.take(pa.array(lang_idx)),
        overview=overview,
        tagline=tagline,
        genres=genres,
        production_companies=production_companies,
        production_countries=production_countries,
        spoken_languages=spoken_languages,
        cast=cast,
        director=director,
        director_of_photography=director_of_photography,
        writers=writers,
        producers=producers,
        music_composer=music_composer,
        poster_path=poster_path,
    )


def _overviews(
    s: _Streams, n_sentences: np.ndarray
) -> tuple[pa.Array, list[tuple[tuple[str, ...], np.ndarray, np.ndarray]]]:
    """Overview texts, and which phrases each film's overview uses (for the hidden rating)."""
    n = s.n
    rows = _rows(n_sentences)
    first = _positions(rows, n) == 0
    u_kind = s.uniform(n_sentences)
    # First sentences introduce someone; later ones may also be a stock closing line.
    kind = np.where(
        first,
        np.select([u_kind < 0.5, u_kind < 0.8], [0, 1], 2),
        np.select([u_kind < 0.35, u_kind < 0.7, u_kind < 0.9], [3, 0, 1], 2),
    )
    subj = s.index(_cdf(np.ones(len(_SUBJECTS))), n_sentences)
    verb = s.index(_cdf(np.ones(len(_VERBS))), n_sentences)
    obj = s.index(_cdf(np.ones(len(_OBJECTS))), n_sentences)
    setting = s.index(_cdf(np.ones(len(_SETTINGS))), n_sentences)
    nick = s.index(_cdf(np.ones(len(_NICKNAMES))), n_sentences)
    coda = s.index(_cdf(np.ones(len(_CODAS))), n_sentences)
    subjects_cap = [p[0].upper() + p[1:] for p in _SUBJECTS]
    settings_cap = [p[0].upper() + p[1:] for p in _SETTINGS]
    join = pc.binary_join_element_wise

    def pick(words: tuple[str, ...] | list[str], index: np.ndarray, k: int) -> pa.Array:
        return _take(words, index[kind == k])

    pieces = [
        join(
            pick(subjects_cap, subj, 0),
            pick(_VERBS, verb, 0),
            pick(_OBJECTS, obj, 0),
            join(pick(_SETTINGS, setting, 0), ".", ""),
            " ",
        ),
        join(
            join(pick(settings_cap, setting, 1), ",", ""),
            pick(_SUBJECTS, subj, 1),
            pick(_VERBS, verb, 1),
            join(pick(_OBJECTS, obj, 1), ".", ""),
            " ",
        ),
        join(
            pick(subjects_cap, subj, 2),
            ', known only as "',
            pick(_NICKNAMES, nick, 2),
            '", ',
            pick(_VERBS, verb, 2),
            " ",
            pick(_OBJECTS, obj, 2),
            ".",
            "",
        ),
        pick(_CODAS, coda, 3),
    ]
    sentences = _assemble(pieces, kind)
    # Most overviews are one paragraph; a few break lines like the real ones do.
    u_break = s.uniform()
    separator = _take((" ", "\n", "\n\n", "\r\n"), _steps(u_break, (0.05, 0.03, 0.005)))
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(n_sentences, out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets), sentences, mask=pa.array(n_sentences == 0))
    overview = pc.binary_join(lists, separator)
    told = kind < 3
    parts = [
        (_SUBJECTS, subj[told], rows[told]),
        (_VERBS, verb[told], rows[told]),
        (_OBJECTS, obj[told], rows[told]),
        (_SETTINGS, setting[kind < 2], rows[kind < 2]),
        (_NICKNAMES, nick[kind == 2], rows[kind == 2]),
        (_CODAS, coda[kind == 3], rows[kind == 3]),
    ]
    return overview, parts


def _titles(s: _Streams, lang_idx: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """English titles, and original titles in the film's language where it differs."""
    adjective = s.index(_cdf(np.ones(len(_TITLE_ADJECTIVES))))
    noun, noun2 = (s.index(_cdf(np.ones(len(_TITLE_NOUNS)))) for _ in range(2))
    first_name = s.index(_cdf(np.ones(len(_FIRST_NAMES))))
    mark = s.index(_cdf(np.ones(len(_SEQUEL_MARKS))))
    pattern = s.index(_cdf((0.18, 0.12, 0.12, 0.15, 0.08, 0.07, 0.05, 0.03, 0.07, 0.13)))
    join = pc.binary_join_element_wise

    def words(vocabulary: tuple[str, ...], index: np.ndarray, k: int) -> pa.Array:
        return _take(vocabulary, index[pattern == k])

    a, nn, n2 = _TITLE_ADJECTIVES, _TITLE_NOUNS, _TITLE_NOUNS
    pieces = [
        join("The", words(a, adjective, 0), words(nn, noun, 0), " "),
        words(nn, noun, 1),
        join(words(nn, noun, 2), "of the", words(n2, noun2, 2), " "),
        join(words(a, adjective, 3), words(nn, noun, 3), " "),
        join("The ", words(nn, noun, 4), "'s ", words(n2, noun2, 4), ""),
        join(words(nn, noun, 5), ": ", words(a, adjective, 5), " ", words(n2, noun2, 5), ""),
        join(words(nn, noun, 6), ", ", words(n2, noun2, 6), ""),
        join('The "', words(a, adjective, 7), '" ', words(nn, noun, 7), ""),
        join(words(_FIRST_NAMES, first_name, 8), "'s ", words(nn, noun, 8), ""),
        join(words(a, adjective, 9), words(nn, noun, 9), words(_SEQUEL_MARKS, mark, 9), " "),
    ]
    title = _assemble(pieces, pattern)

    original = title
    w1, w2 = s.uniform(), s.uniform()
    codes = [code for code, _, _, _ in _LANGUAGES]
    for code, (vocabulary, joiner) in _ORIGINAL_WORDS.items():
        mine = lang_idx == codes.index(code)
        i1 = np.floor(w1[mine] * len(vocabulary)).astype(np.int64)
        i2 = np.floor(w2[mine] * len(vocabulary)).astype(np.int64)
        localized = join(_take(vocabulary, i1), joiner, _take(vocabulary, i2), "")
        original = pc.replace_with_mask(original, pa.array(mine), localized)
    return title, original


def _taglines(s: _Streams) -> pa.Array:
    stock = s.index(_cdf(np.ones(len(_TAGLINES))))
    adjective = s.index(_cdf(np.ones(len(_TITLE_ADJECTIVES))))
    noun = s.index(_cdf(np.ones(len(_TITLE_NOUNS))))
    pattern = s.index(_cdf((0.5, 0.25, 0.25)))
    join = pc.binary_join_element_wise
    lower_nouns = [w.lower() for w in _TITLE_NOUNS]
    pieces = [
        _take(_TAGLINES, stock[pattern == 0]),
        join("Every ", _take(lower_nouns, noun[pattern == 1]), " has a secret.", ""),
        join(
            "The ",
            _take(_TITLE_ADJECTIVES, adjective[pattern == 2]),
            " ",
            _take(_TITLE_NOUNS, noun[pattern == 2]),
            " awaits.",
            "",
        ),
    ]
    return _assemble(pieces, pattern)


def _poster_paths(s: _Streams) -> pa.Array:
    """``/`` + 27 random letters and digits + ``.jpg``, like TMDB poster paths."""
    n = s.n
    alphabet = np.frombuffer(_POSTER_ALPHABET, dtype=np.uint8)
    chars = alphabet[s.draw("integers", 27, low=0, high=len(alphabet))]
    offsets = (np.arange(n + 1) * 27).astype(np.int32)
    names = pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars))
    )
    return pc.binary_join_element_wise("/", names, ".jpg", "")


def _hidden_rating(
    *,
    genre_idx: np.ndarray,
    genre_rows: np.ndarray,
    language_idx: np.ndarray,
    director_q: np.ndarray,
    cast_q: np.ndarray,
    writer_q: np.ndarray,
    company_q: np.ndarray,
    runtime: np.ndarray,
    budget: np.ndarray,
    year: np.ndarray,
    overview_parts: list[tuple[tuple[str, ...], np.ndarray, np.ndarray]],
    noise: np.ndarray,
) -> np.ndarray:
    """The hidden function behind every film's final IMDb rating.

    ``clip(base + effects + noise, 1, 10)`` rounded to one decimal. Effects, each zero
    when the input is unknown: genres (summed), the mean latent quality of the
    directors, writers and production companies, the billing-weighted mean quality of
    the cast, the original language, runtime (non-linear), budget (weak), release year
    (older films are rated higher) and a few overview words. A model only sees names
    and texts, so it must learn the latent qualities from a person's other films.

    Args:
        genre_idx: genre of each listed genre, as an index into ``schema.GENRES``.
        genre_rows: film index of each listed genre.
        language_idx: index of each film's original language into ``_LANGUAGES``.
        director_q: mean latent quality of each film's directors (0 when none).
        cast_q: billing-weighted mean latent quality of the cast (0 when none).
        writer_q: mean latent quality of the writers (0 when none).
        company_q: mean latent quality of the production companies (0 when none).
        runtime: runtime in minutes, 0 when unknown.
        budget: budget in USD, 0 when unknown.
        year: release year, NaN when unknown.
        overview_parts: ``(phrases, phrase index, film index)`` of every phrase used in
            the overviews.
        noise: per-film noise (standard deviation ~0.6).

    Returns:
        The final IMDb rating of each film.
    """
    n = len(noise)
    genre_effect = {
        "Action": -0.25, "Adventure": 0.0, "Animation": 0.6, "Comedy": -0.1, "Crime": 0.2,
        "Documentary": 1.1, "Drama": 0.4, "Family": -0.1, "Fantasy": -0.05, "History": 0.6,
        "Horror": -1.0, "Music": 0.3, "Mystery": 0.05, "Romance": 0.0,
        "Science Fiction": -0.2, "TV Movie": -0.45, "Thriller": -0.25, "War": 0.45,
        "Western": 0.1,
    }  # fmt: skip
    by_genre = np.array([genre_effect[name] for name in schema.GENRES])
    genres = np.bincount(genre_rows, weights=by_genre[genre_idx], minlength=n)
    language_effect = {
        "en": -0.15, "fr": 0.1, "es": 0.0, "ja": 0.35, "de": 0.05, "it": 0.15, "ko": 0.3,
        "zh": 0.0, "hi": 0.55, "pt": 0.1, "ru": 0.05, "sv": 0.15, "nl": -0.05, "tr": 0.45,
        "da": 0.15, "pl": 0.1, "cs": 0.2, "fi": 0.0, "no": 0.0, "fa": 0.5, "ar": 0.1,
        "ta": 0.5, "te": 0.35, "ml": 0.6, "el": 0.05, "hu": 0.15, "th": -0.1, "tl": -0.1,
        "id": -0.2, "cn": 0.1, "he": 0.2, "ro": 0.2,
    }  # fmt: skip
    language = np.array([language_effect[code] for code, _, _, _ in _LANGUAGES])[language_idx]
    runtime_effect = np.where(
        runtime > 0,
        np.interp(
            runtime,
            [1, 40, 60, 80, 100, 130, 160, 240],
            [0.3, 0.2, -0.3, -0.2, 0.0, 0.25, 0.35, 0.2],
        ),
        0.0,
    )
    budget_effect = np.where(
        budget > 0, np.clip(0.1 * (np.log10(np.maximum(budget, 1)) - 6.5), -0.2, 0.2), 0.0
    )
    year_effect = np.where(
        np.isnan(year), 0.0, np.clip(-0.008 * (np.nan_to_num(year) - 1995), -0.3, 0.5)
    )
    word_effect = {
        "haunted": -0.35, "zombie": -0.45, "curse": -0.2, "cursed": -0.25, "killer": -0.15,
        "masked": -0.2, "demon": -0.3, "alien": -0.1, "virus": -0.15, "teenagers": -0.2,
        "cheerleader": -0.25, "sequel": -0.3, "heist": 0.05, "documentary": 0.4,
        "documents": 0.3, "true": 0.2, "real": 0.15, "war": 0.2, "holocaust": 0.45,
        "dictator": 0.25, "courage": 0.15, "musician": 0.15, "music": 0.15, "painter": 0.2,
        "family": 0.05, "memory": 0.1, "grieving": 0.15,
    }  # fmt: skip
    text = np.zeros(n)
    for phrases, index, rows in overview_parts:
        effects = np.array(
            [
                sum(word_effect.get(w, 0.0) for w in re.findall(r"[a-z]+", p.lower()))
                for p in phrases
            ]
        )
        text += np.bincount(rows, weights=effects[index], minlength=n)
    text = np.clip(text, -0.8, 0.8)
    raw = (
        6.1
        + genres
        + language
        + 0.6 * director_q
        + 0.55 * cast_q
        + 0.3 * writer_q
        + 0.25 * company_q
        + runtime_effect
        + budget_effect
        + year_effect
        + text
        + noise
    )
    return np.round(np.clip(raw, 1.0, 10.0), 1)


# --------------------------------------------------------------------------------------
# The feed
# --------------------------------------------------------------------------------------


def _daily_rate(size: int) -> float:
    """Expected number of films announced per day."""
    return max(3.0, size * 0.0005)


def _feed(seed: int, size: int, day: int) -> _Films:
    """All films created up to ``day`` (days since the epoch), deleted ones included."""
    pools = _pools(seed, size)
    base_rng = np.random.default_rng([seed, 0])
    mean_gap = max(1.25, 1_500_000 / size)
    base_ids = np.cumsum(base_rng.geometric(1.0 / mean_gap, size=size)).astype(np.int64)
    parts = [
        _make_films(
            _Streams([base_rng], np.array([size])),
            base_ids,
            np.zeros(size, dtype=np.int64),
            added=False,
            pools=pools,
        )
    ]
    if day > 0:
        rate = _daily_rate(size)
        block = int(np.ceil(3 * rate)) + 10  # id range reserved for each day
        generators, counts, id_parts = [], [], []
        for d in range(1, day + 1):
            rng = np.random.default_rng([seed, 1, d])
            k = int(np.clip(rng.poisson(rate), 1, block))
            offsets = np.sort(rng.choice(block, size=k, replace=False))
            id_parts.append(base_ids[-1] + 1 + (d - 1) * block + offsets)
            generators.append(rng)
            counts.append(k)
        sizes = np.array(counts)
        created = np.repeat(np.arange(1, day + 1, dtype=np.int64), sizes)
        parts.append(
            _make_films(
                _Streams(generators, sizes),
                np.concatenate(id_parts).astype(np.int64),
                created,
                added=True,
                pools=pools,
            )
        )
    return _concat_films(parts)


#: Share of films whose popularity and votes move on a given day, by default: TMDB
#: recomputes popularity daily and votes move for every film people are rating.
DEFAULT_CHURN = 0.30


def _unit_hash(ids: np.ndarray, salt: np.ndarray | int, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per (id, salt, seed), from an integer hash (splitmix64)."""
    with np.errstate(over="ignore"):
        x = (ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             + np.asarray(salt).astype(np.uint64) * np.uint64(0xD1B54A32D192ED03)
             + np.uint64(seed + 1) * np.uint64(0x8CB92BA72F3D8DD7))
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _churn_moves(ids: np.ndarray, day: int, seed: int, churn: float) -> np.ndarray:
    """How many times each film's signals have moved by ``day``.

    A film moves whenever ``day * churn + phase`` crosses an integer, its phase fixed per
    film: each film moves on a ``churn`` share of days, and on any day a ``churn`` share of
    the films moves (all of them at 1.0), computed from the day alone (no history).
    """
    if churn <= 0:
        return np.zeros(len(ids), np.int64)
    return np.floor(day * min(churn, 1.0) + _unit_hash(ids, 0, seed)).astype(np.int64)


def _churned(
    ids: np.ndarray, moves: np.ndarray, seed: int, popularity: np.ndarray,
    vote_count: np.ndarray, vote_average: np.ndarray, imdb_votes: np.ndarray, rated: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The signals after ``moves`` moves: popularity up or down by up to 20%, TMDB votes
    (of films with votes) and IMDb votes (of rated films) up, the vote average nudged."""
    wobble = _unit_hash(ids, moves + 1, seed) - 0.5
    moved = moves > 0
    popularity = np.where(moved, np.round(popularity * (1.0 + 0.4 * wobble), 3), popularity)
    has_votes = moved & (vote_count > 0)
    step = 1 + ids % 7
    vote_count = np.where(has_votes, vote_count + moves * step, vote_count)
    vote_average = np.where(
        has_votes, np.round(np.clip(vote_average + 0.02 * wobble, 0.5, 10.0), 3), vote_average)
    imdb_votes = np.where(moved & rated, imdb_votes + moves * 3 * step, imdb_votes)
    return popularity, vote_count, vote_average, imdb_votes


def _rows_on(films: _Films, day: int, *, seed: int = 0, churn: float = 0.0) -> pa.Table:
    """The raw rows of ``films`` on ``day`` (days since the epoch), the signals of a
    ``churn`` share of them moved that day (see :func:`_churn_moves`)."""
    since = np.where(films.has_date, day - films.release_day, 0)
    status = films.fixed_status.astype(np.int64)
    by_date = status < 0
    status = np.where(
        by_date,
        np.select(
            [since >= 0, since >= _POST_PRODUCTION_FROM, since >= _IN_PRODUCTION_FROM],
            [
                _status_code("Released"),
                _status_code("Post Production"),
                _status_code("In Production"),
            ],
            _status_code("Planned"),
        ),
        status,
    )
    released = status == _status_code("Released")
    # Released films without a date are old: their numbers are final.
    since = np.where(films.has_date, since, _NEVER)
    visible = released & (since >= films.first_update)
    last_update = since - (since + films.id) % _UPDATE_EVERY
    progress = np.where(since >= _RAMP_DAYS, 1.0, np.clip(last_update / _RAMP_DAYS, 0.0, 1.0))
    progress = np.where(visible, progress, 0.0)
    behind = 1.0 - progress

    shown = films.rated & visible
    imdb_rating = np.round(np.clip(films.rating + films.rating_drift * behind, 1.0, 10.0), 1)
    imdb_votes = np.maximum(5.0, np.round(films.imdb_votes * progress**1.5))
    vote_count = np.where(visible, np.round(films.vote_count * progress), 0.0)
    vote_average = np.where(
        vote_count > 0,
        np.round(np.clip(films.vote_average + films.vote_drift * behind, 0.5, 10.0), 3),
        0.0,
    )
    popularity = np.round(
        np.where(visible, films.popularity * (1.0 + 2.0 * behind), films.popularity_before), 3
    )
    revenue = np.where(released & (progress >= 1.0), films.revenue, 0.0)
    moves = _churn_moves(films.id, day, seed, churn)
    popularity, vote_count, vote_average, imdb_votes = _churned(
        films.id, moves, seed, popularity, vote_count, vote_average, imdb_votes, shown)
    out = pa.array(released)  # a film out shows its full record; before, what is known then

    def known(after: pa.Array, field: str) -> pa.Array:
        return pc.if_else(out, after, films.before[field])

    columns: dict[str, pa.Array] = {
        "id": pa.array(films.id, pa.int64()),
        "title": films.title,
        "vote_average": pa.array(vote_average, pa.float64()),
        "vote_count": pa.array(vote_count, pa.float64()),
        "status": pa.array(schema.STATUSES).take(pa.array(status)),
        "release_date": films.release_date,
        "revenue": pa.array(revenue, pa.float64()),
        "runtime": pa.array(_with_absurd_runtimes(
            films.id, np.where(released, films.runtime, films.runtime_before)), pa.float64()),
        "budget": pa.array(np.where(released, films.budget, films.budget_before), pa.float64()),
        "imdb_id": films.imdb_id,
        "original_language": films.original_language,
        "original_title": films.original_title,
        "overview": known(films.overview, "overview"),
        "popularity": pa.array(popularity, pa.float64()),
        "tagline": known(films.tagline, "tagline"),
        "genres": films.genres,
        "production_companies": films.production_companies,
        "production_countries": films.production_countries,
        "spoken_languages": films.spoken_languages,
        "cast": known(films.cast, "cast"),
        "director": known(films.director, "director"),
        "director_of_photography": known(films.director_of_photography, "director_of_photography"),
        "writers": known(films.writers, "writers"),
        "producers": known(films.producers, "producers"),
        "music_composer": known(films.music_composer, "music_composer"),
        "imdb_rating": pa.array(imdb_rating, pa.float64(), mask=~shown),
        "imdb_votes": pa.array(imdb_votes, pa.float64(), mask=~shown),
        "poster_path": films.poster_path,
    }
    table = pa.table({name: columns[name] for name in schema.RAW_COLUMN_NAMES})
    alive = films.delete_day > day
    return table if alive.all() else table.filter(pa.array(alive))


def _with_absurd_runtimes(ids: np.ndarray, runtime: np.ndarray) -> np.ndarray:
    """About 1 film in 4,000 gets a runtime of days, as in the real file (art installations,
    data entry slips); cleaning must quarantine them, so the demo shows rejects at work."""
    absurd = ids % _ABSURD_RUNTIME_EVERY == 0
    return np.where(absurd, 1_001.0 + (ids % 9_000), runtime)


def demo_snapshot(
    as_of: date, *, seed: int = 42, size: int = 20_000, churn: float = DEFAULT_CHURN
) -> pa.Table:
    """Simulate the ``TMDB_all_movies.csv`` snapshot of ``as_of``.

    The result depends only on ``(as_of, seed, size)``: the same arguments always give
    the same table, and films that exist on an earlier date are the same films (with the
    rows that date implies) whatever later date is asked for.

    Args:
        as_of: the day the snapshot describes; on :data:`DEMO_EPOCH` the feed holds
            exactly ``size`` films and every later day adds a few upcoming ones.
        seed: non-negative seed of the simulated world.
        size: number of films on :data:`DEMO_EPOCH`.
        churn: share of films (0-1) whose popularity and votes move each day, on top of
            the recent releases' ramp-up.

    Returns:
        A table with the 28 raw columns in file order, sorted by id: ``id`` int64, the
        numeric columns float64 (counts too), every other column a string, list columns
        as ``"A, B"`` strings and ``release_date`` as ``YYYY-MM-DD``.

    Raises:
        ValueError: if ``as_of`` is before :data:`DEMO_EPOCH`, ``seed`` is negative or
            ``size`` is not positive.
    """
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    day = (as_of - DEMO_EPOCH).days
    if day < 0:
        raise ValueError(
            f"the demo feed starts on {DEMO_EPOCH.isoformat()}; "
            f"there is no snapshot for {as_of.isoformat()}"
        )
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if not 0.0 <= churn <= 1.0:
        raise ValueError(f"churn must be between 0 and 1, got {churn}")
    return _rows_on(_feed(seed, size, day), day, seed=seed, churn=churn)


def _csv_ready(table: pa.Table) -> pa.Table:
    """Format float columns the way pandas wrote the real file (``1234.0``, ``6.5``).

    Arrow writes ``1234.0`` as ``1234``, which readers would then infer as an integer.
    """
    columns = []
    for column in table.columns:
        if not pa.types.is_floating(column.type):
            columns.append(column)
            continue
        values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        numbers = values.to_numpy(zero_copy_only=False)
        whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) < 1e16)
        as_int = pc.cast(pa.array(np.where(whole, numbers, 0).astype(np.int64)), pa.string())
        text = pc.if_else(
            pa.array(whole),
            pc.binary_join_element_wise(as_int, ".0", ""),
            pc.cast(values, pa.string()),
        )
        columns.append(_null_where(text, values.is_null().to_numpy(zero_copy_only=False)))
    return pa.table(columns, names=table.column_names)


def write_snapshot_csv(table: pa.Table, path: Path) -> Path:
    """Write a snapshot as CSV atomically (a temporary file in the same folder, renamed).

    Strings are quoted, with embedded quotes doubled, so overviews may hold commas,
    quotes and line breaks; nulls are empty fields; floats keep a ``.0`` like the real
    file's.

    Args:
        table: a snapshot in the raw schema, e.g. from :func:`demo_snapshot`.
        path: the CSV file to write; its folder is created if missing.

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pa_csv.write_csv(_csv_ready(table), tmp_name, pa_csv.WriteOptions(quoting_style="needed"))
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


class DemoSource:
    """The simulated daily feed, cached as one CSV per date.

    Args:
        cache_dir: folder of the cached snapshot files.
        seed: seed of the simulated world.
        size: number of films on :data:`DEMO_EPOCH`.
        churn: share of films whose popularity and votes move each day.
    """

    name = "demo"

    def __init__(self, cache_dir: Path, *, seed: int = 42, size: int = 20_000,
                 churn: float = DEFAULT_CHURN) -> None:
        self.cache_dir = Path(cache_dir)
        self.seed = seed
        self.size = size
        self.churn = churn

    #: Cached files kept besides the newest one: they can be regenerated at will.
    keep_files = 2

    def _prune(self, keep: Path) -> None:
        """Delete the oldest cached snapshots (by file date), never ``keep``."""
        cached = sorted(self.cache_dir.glob("demo-s*-n*-*.csv"), key=lambda p: p.stem[-10:])
        for old in [p for p in cached if p != keep][: -self.keep_files or None]:
            old.unlink(missing_ok=True)

    def path_for(self, as_of: date) -> Path:
        """The cache file of the snapshot of ``as_of``."""
        return self.cache_dir / f"demo-s{self.seed}-n{self.size}-c{self.churn:g}-{as_of:%Y-%m-%d}.csv"

    def fetch(self, as_of: date | None = None) -> Snapshot:
        """Return the snapshot of ``as_of`` (today in UTC when None), writing it if needed.

        Args:
            as_of: the day of the snapshot.

        Returns:
            The cached or newly written snapshot, marked as demo data.

        Raises:
            ValueError: if ``as_of`` is before :data:`DEMO_EPOCH`.
        """
        day = datetime.now(UTC).date() if as_of is None else as_of
        path = self.path_for(day)
        if not path.exists():
            write_snapshot_csv(
                demo_snapshot(day, seed=self.seed, size=self.size, churn=self.churn), path)
            self._prune(keep=path)
        return Snapshot(
            path=path,
            as_of=day,
            source=self.name,
            version=f"seed={self.seed},size={self.size},churn={self.churn:g}",
            is_demo=True,
        )
