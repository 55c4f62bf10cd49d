"""Durable, all-or-nothing file writes shared by the local store, the local registry and the site."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_dir(path: Path) -> None:
    """fsync a directory, so a rename or link inside it survives a crash."""
    _fsync(path)


def sync_tree(root: Path) -> None:
    """fsync every file and directory under ``root``."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            _fsync(Path(dirpath, name))
        sync_dir(Path(dirpath))


def _publish(final: Path, text: str, place: Callable[[str, Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        place(tmp, final)
        sync_dir(final.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_create(final: Path, text: str) -> None:
    """Create ``final`` with ``text`` all at once; fails (FileExistsError) if it exists.

    The content is synced to a temporary file, then hard-linked into place: readers see no
    file or the whole file, and of two writers only one can win.
    """
    _publish(final, text, os.link)


def atomic_replace(final: Path, text: str) -> None:
    """Replace ``final`` with ``text`` all at once (readers see the old or the new file)."""
    _publish(final, text, os.replace)
