"""Sections of bench/RESULTS.md written by the standalone benchmark scripts.

``python -m bench`` rewrites the whole file; ``python -m bench.fixed_cost``,
``bench.drift`` and ``bench.hopsworks_upsert`` each own one ``## `` section of it, and
``bench.real`` and ``bench.churn`` one section between two markers (:class:`Marked`); a
rewrite keeps them all (:func:`keep_sections`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "RESULTS.md"

T = TypeVar("T")

FIXED_COST = "## Fixed cost of a CLI command"
DRIFT = "## Drift at inference (demo store)"
HOPSWORKS_UPSERT = "## Hopsworks upsert on the SDK fake"
#: Headings of the sections the standalone scripts write (kept by ``python -m bench``).
STANDALONE_SECTIONS = (FIXED_COST, DRIFT, HOPSWORKS_UPSERT)


@dataclass(frozen=True)
class Marked:
    """A section between two HTML comments; its text includes both markers."""

    start: str
    end: str


REAL = Marked("<!-- real-data benchmark: start (python -m bench.real) -->", "<!-- real-data benchmark: end -->")
CHURN = Marked("<!-- daily churn: start (python -m bench.churn --report) -->", "<!-- daily churn: end -->")
#: The marked sections (kept by ``python -m bench``).
MARKED_SECTIONS = (REAL, CHURN)


def load_average() -> str:
    """The 1-minute load average, for a report's "load at start / end"."""
    return f"{os.getloadavg()[0]:.2f}"


def _section_end(text: str, start: int) -> int:
    """Where the ``## `` section that starts at ``start`` ends: at the next heading or the
    next marked section's marker, else at the end of ``text``."""
    ends = [i for i in (text.find("\n## ", start + 1), text.find("\n<!-- ", start + 1)) if i >= 0]
    return min(ends) + 1 if ends else len(text)


def _replace_file(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def write_section(heading: str, text: str, path: Path = RESULTS) -> None:
    """Replace the section of ``path`` that starts at ``heading`` (up to the next ``## ``
    or marker) with ``text``, or append ``text`` when there is none; the rest stays as it is."""
    current = path.read_text() if path.exists() else ""
    start = current.find(heading)
    if start < 0:
        _replace_file(path, current.rstrip("\n") + "\n\n" + text)
        return
    tail = current[_section_end(current, start):]
    _replace_file(path, current[:start].rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n" + ("\n" + tail if tail else ""))


def write_marked(section: Marked, text: str, path: Path = RESULTS) -> None:
    """Replace ``section`` of ``path`` with ``text`` (markers included), or append it when
    there is none; the rest stays as it is."""
    current = path.read_text() if path.exists() else "# Benchmark\n"
    if section.start in current and section.end in current:
        before, rest = current.split(section.start, 1)
        _replace_file(path, before + text.rstrip("\n") + rest.split(section.end, 1)[1])
    else:
        _replace_file(path, current.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n")


def keep_sections(old: str, new: str, headings: tuple[str, ...] = STANDALONE_SECTIONS,
                  marked: tuple[Marked, ...] = MARKED_SECTIONS) -> str:
    """``new`` (a report ``python -m bench`` wrote) with each section of ``old`` that starts at
    one of ``headings``, and each of its ``marked`` sections, appended unless ``new`` has it."""
    for heading in headings:
        if heading not in old or heading in new:
            continue
        start = old.index(heading)
        new = new.rstrip("\n") + "\n\n" + old[start:_section_end(old, start)].rstrip("\n") + "\n"
    for section in marked:
        if section.start not in old or section.end not in old or section.start in new:
            continue
        start = old.index(section.start)
        end = old.index(section.end, start) + len(section.end)
        new = new.rstrip("\n") + "\n\n" + old[start:end] + "\n"
    return new


def section_parser(description: str) -> argparse.ArgumentParser:
    """The command line of a script that owns a section: its options, ``--note`` and ``--write``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--note", default="", help="load or machine notes for the report")
    parser.add_argument("--write", action="store_true", help="write the section into RESULTS.md")
    return parser


def run_section(heading: str, write: bool, measure: Callable[[], T], render: Callable[[T, str], str]) -> int:
    """Measure, render the section with the load average at start / end, print it and, with
    ``write``, put it into RESULTS.md (:func:`write_section`)."""
    load_start = load_average()
    result = measure()
    text = render(result, f"{load_start} / {load_average()}")
    print(text)
    if write:
        write_section(heading, text)
    return 0
