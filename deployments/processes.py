"""Processes by pid, with the standard library only: alive, command line, group, signals.

Used by :mod:`deployments.local` to check that a pidfile still names the process it
started before signalling it, and to wait until it (and its process group) is gone.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    if not _signal_reaches(os.kill, pid):
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    return True


def group_alive(pgid: int) -> bool:
    """Whether process group ``pgid`` still has a live (not zombie) member."""
    return _signal_reaches(os.killpg, pgid) and any(alive(pid) for pid in group_members(pgid))


def _signal_reaches(send: Callable[[int, int], None], target: int) -> bool:
    """Whether signal 0 finds ``target`` (a process or a group; one not ours counts)."""
    try:
        send(target, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def command_line(pid: int) -> list[str]:
    """The arguments of process ``pid`` (empty when it cannot be read)."""
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return raw.decode(errors="replace").rstrip("\0").split("\0")
    with contextlib.suppress(OSError, subprocess.SubprocessError):  # no /proc (macOS)
        return subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        ).stdout.split()
    return []


def group_of(pid: int) -> int | None:
    """The process group of ``pid``, None when it is gone."""
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def send_signal(pid: int, sig: int, *, group: bool) -> None:
    """Send ``sig`` to ``pid``, or to its whole group (``pid`` leading it); gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def wait_gone(pid: int, seconds: float, *, group: bool) -> bool:
    """Wait up to ``seconds`` until ``pid`` (and its group when ``group``) is gone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid) and not (group and group_alive(pid)):
            return True
        time.sleep(0.2)
    return False


def group_members(pgid: int) -> list[int]:
    """The pids in process group ``pgid`` (from /proc; empty without it)."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members
