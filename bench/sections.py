"""Sections of bench/RESULTS.md written by the standalone benchmark scripts.

``python -m bench`` rewrites the whole file; ``python -m bench.fixed_cost``,
``bench.drift`` and ``bench.hopsworks_upsert`` each own one ``## `` section of it, which a
rewrite keeps (:func:`keep_sections`).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "RESULTS.md"


FIXED_COST = "## Fixed cost of a CLI command"
DRIFT = "## Drift at inference (demo store)"
HOPSWORKS_UPSERT = "## Hopsworks upsert on the SDK fake"
#: Headings of the sections the standalone scripts write (kept by ``python -m bench``).
STANDALONE_SECTIONS = (FIXED_COST, DRIFT, HOPSWORKS_UPSERT)


def load_average() -> str:
    """The 1-minute load average, for a report's "load at start / end"."""
    return f"{os.getloadavg()[0]:.2f}"


def write_section(heading: str, text: str, path: Path = RESULTS) -> None:
    """Replace the section of ``path`` that starts at ``heading`` (up to the next ``## ``)
    with ``text``, or append ``text`` when there is none; the rest stays as it is."""
    current = path.read_text() if path.exists() else ""
    head, found, rest = current.partition(heading)
    tail = rest[rest.find("\n## "):] if found and "\n## " in rest else ""
    path.write_text(head.rstrip("\n") + "\n\n" + text + tail)


def keep_sections(old: str, new: str, headings: tuple[str, ...]) -> str:
    """``new`` (a report ``python -m bench`` wrote) with each section of ``old`` that starts at
    one of ``headings`` appended, unless ``new`` has it already."""
    for heading in headings:
        if heading not in old or heading in new:
            continue
        rest = old[old.index(heading):]
        end = rest.find("\n## ", len(heading))
        new = new.rstrip("\n") + "\n\n" + (rest if end < 0 else rest[:end + 1]).rstrip("\n") + "\n"
    return new
