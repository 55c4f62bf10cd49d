"""Demo snapshots for the benchmark, cached as CSV files keyed by (seed, size, date)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from bench.proc import REPO, run_child

#: Cached snapshot files (git-ignored).
CACHE_DIR = REPO / "bench" / ".cache"


def snapshot_dates(days: int) -> list[date]:
    """The backfill date (the demo epoch) and the ``days`` following days."""
    from movie_ratings.sources.demo import DEMO_EPOCH

    return [DEMO_EPOCH + timedelta(days=d) for d in range(days + 1)]


def demo_code_version() -> str:
    """A short hash of the demo simulator's source: a cached snapshot of older demo code
    must not be mixed with new ones (a day's diff would then change every film)."""
    import hashlib

    sources = sorted((REPO / "movie_ratings" / "sources").glob("demo*"))
    digest = hashlib.sha256()
    for path in sources:
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:10]


def snapshot_path(seed: int, size: int, as_of: date, cache_dir: Path = CACHE_DIR) -> Path:
    """Cache file of one snapshot (keyed by the demo code too)."""
    return cache_dir / f"demo-{demo_code_version()}-s{seed}-n{size}-{as_of:%Y-%m-%d}.csv"


def ensure_snapshots(dates: list[date], *, seed: int, size: int, env: dict[str, str],
                     cache_dir: Path = CACHE_DIR, log=print) -> list[Path]:
    """Write the snapshots that are not cached yet (one child process each).

    Args:
        dates: snapshot dates.
        seed: demo seed.
        size: films on the demo epoch.
        env: environment of the child processes.
        cache_dir: where the files are kept.
        log: progress output.

    Returns:
        The file of each date, in order.
    """
    paths = []
    for as_of in dates:
        path = snapshot_path(seed, size, as_of, cache_dir)
        if not path.exists():
            log(f"  generating {path.name} ...")
            run = run_child("generate", {"as_of": as_of.isoformat(), "seed": seed,
                                         "size": size, "path": str(path)}, env)
            log(f"  generated {path.name}: {run.result['rows']:,} rows, "
                f"{path.stat().st_size / 1e6:.0f} MB in {run.wall_s:.1f} s")
        paths.append(path)
    return paths


def sample_path(seed: int, size: int, as_of: date, sample: int, cache_dir: Path = CACHE_DIR) -> Path:
    """Cache file of a sample of one snapshot's rows."""
    return cache_dir / f"demo-{demo_code_version()}-s{seed}-n{size}-{as_of:%Y-%m-%d}-sample{sample}.csv"


def ensure_sample(as_of: date, *, seed: int, size: int, sample: int, env: dict[str, str],
                  cache_dir: Path = CACHE_DIR, log=print) -> Path:
    """A seeded random sample of ``sample`` rows of a snapshot, in the same CSV format.

    The batch-predict input: films of the same feed the model was trained on, as a user
    would score them.
    """
    path = sample_path(seed, size, as_of, sample, cache_dir)
    if not path.exists():
        log(f"  generating {path.name} ...")
        run = run_child("generate", {"as_of": as_of.isoformat(), "seed": seed, "size": size,
                                     "sample": sample, "path": str(path)}, env)
        log(f"  generated {path.name}: {run.result['rows']:,} rows, "
            f"{path.stat().st_size / 1e6:.0f} MB in {run.wall_s:.1f} s")
    return path
