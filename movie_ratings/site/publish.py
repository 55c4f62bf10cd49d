"""Writing the site to disk and publishing it atomically.

``out_dir`` (``MOVIE_RATINGS_HOME/site``) is a symbolic link to one complete build in the
sibling folder ``.site-builds/``. A build is written into a fresh folder there and only then
becomes the site by replacing the link with :func:`os.replace`, one atomic rename: a reader
sees either the previous site or the new one, never a half-written one, and a build that
fails leaves the previous site as it was. The two previous builds are kept (a page already
open may still ask for their assets), and any build younger than ten minutes (another run may
still be writing it); older ones are removed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from movie_ratings.durable import sync_dir
from movie_ratings.site import render
from movie_ratings.site.data import SiteData, film_page

logger = logging.getLogger(__name__)

STATIC_FILES = ("site.css", "site.js", "placeholder.svg")
PLOT_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".svg"}
KEEP_PREVIOUS_BUILDS = 2
MIN_AGE_SECONDS = 600  # a younger build may still be written by another run, or be read


def builds_dir(out_dir: Path) -> Path:
    """Where the builds behind ``out_dir`` live: a hidden sibling folder."""
    return out_dir.parent / f".{out_dir.name}-builds"


def _write(path: Path, content: str | bytes) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def copy_plots(plots: dict[str, Path], directory: Path) -> list[render.PlotFile]:
    """Copy the training plots into ``directory`` under safe names.

    The file names on the site are ``plot-<n>.<ext>``, never the caller's names; a plot whose
    file does not exist is shown as unavailable rather than failing the whole site.

    Raises:
        ValueError: a plot file is not an image (png, jpg, jpeg, webp, svg).
        OSError: a plot file exists but cannot be copied.
    """
    shown = []
    for number, (name, source) in enumerate(plots.items()):
        source = Path(source)
        suffix = source.suffix.lower()
        if suffix not in PLOT_SUFFIXES:
            raise ValueError(f"plot {name!r}: {source} is not an image file ({', '.join(sorted(PLOT_SUFFIXES))})")
        if not source.exists():
            logger.warning("plot %r: %s does not exist; shown as unavailable", name, source)
            shown.append(render.PlotFile(name=name, src=None))
            continue
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"plot-{number}{suffix}"
        _write(target, source.read_bytes())
        shown.append(render.PlotFile(name=name, src=f"assets/plots/{target.name}"))
    return shown


def write_site(data: SiteData, directory: Path) -> None:
    """Render every page and copy every asset into an existing, empty ``directory``."""
    assets = directory / "assets"
    assets.mkdir()
    static = resources.files("movie_ratings.site") / "static"
    for name in STATIC_FILES:
        _write(assets / name, (static / name).read_bytes())
    plots = copy_plots(data.plots, assets / "plots")
    _write(directory / "index.html", render.render_index(data))
    _write(directory / "monitoring.html", render.render_monitoring(data, plots))
    for film in render.film_details(data):
        page = film_page(film.id)
        if page is not None:  # film_details keeps only valid ids
            _write(directory / page, render.render_film(data, film))


def publish(build: Path, out_dir: Path) -> None:
    """Make ``out_dir`` point at ``build`` in one atomic step.

    A real folder already at ``out_dir`` (not a link, e.g. copied there by hand) is moved into
    the builds folder first, so it is kept like any previous build.
    """
    link = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex}.tmp"
    os.symlink(os.path.relpath(build, out_dir.parent), link)
    try:
        if out_dir.is_dir() and not out_dir.is_symlink():
            os.rename(out_dir, builds_dir(out_dir) / f"previous-{uuid.uuid4().hex[:8]}")
        os.replace(link, out_dir)
    except BaseException:
        link.unlink(missing_ok=True)
        raise
    sync_dir(out_dir.parent)


BUILD_NAME = re.compile(r"(?:\d{8}T\d{12}Z-|previous-)[A-Za-z0-9_]+")


def prune(out_dir: Path, keep: int = KEEP_PREVIOUS_BUILDS, min_age: float = MIN_AGE_SECONDS) -> list[Path]:
    """Remove old builds: all but the current one, the ``keep`` newest others and any build
    changed less than ``min_age`` seconds ago (another run may still be writing it).

    Returns:
        The removed build folders.
    """
    builds = builds_dir(out_dir)
    current = out_dir.resolve() if out_dir.is_symlink() else None
    others = sorted(
        (p for p in builds.iterdir() if p.is_dir() and BUILD_NAME.fullmatch(p.name) and p.resolve() != current),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    now = time.time()
    removed = [p for p in others[keep:] if now - p.stat().st_mtime >= min_age]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def build_site(data: SiteData, out_dir: Path) -> Path:
    """Render the site for ``data`` and publish it at ``out_dir`` atomically.

    Args:
        data: what the site shows.
        out_dir: where the site appears (a symbolic link to the newest build; its parent is
            created when missing).

    Returns:
        The path of the published ``index.html``.

    Raises:
        OSError: the site could not be written; the previous site, if any, is untouched.
        ValueError: a plot is not an image file; the previous site is untouched.
    """
    out_dir = Path(out_dir)
    builds = builds_dir(out_dir)
    builds.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    build = Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=builds))
    try:
        build.chmod(0o755)
        write_site(data, build)
        sync_dir(build)
        publish(build, out_dir)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    prune(out_dir)
    return out_dir / "index.html"
