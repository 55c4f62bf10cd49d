"""The Prefect profile ``make server`` activates and ``make stop`` removes.

A profile in ``<PREFECT_HOME>/profiles.toml`` (mode 0600) holds the server's API URL and
auth string, so ``prefect`` and ``movie-ratings`` run from the repository reach the server
without any export. The profile that was active before is remembered next to the file and
made active again on removal. Only the standard library is used (``make stop`` runs
without the venv).
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any


def activate(path: Path, name: str, settings: dict[str, str]) -> None:
    """Write the profile ``name`` with ``settings`` into ``path`` and make it the active one."""
    profiles = _read(path)
    profiles.setdefault("profiles", {})[name] = settings
    before = profiles.get("active")
    if before and before != name:  # given back by deactivate
        _active_before(path).write_text(before)
    profiles["active"] = name
    _write(path, profiles)


def deactivate(path: Path, name: str) -> bool:
    """Remove the profile ``name`` from ``path``; the one active before it is active again.

    Returns:
        False when there was no such profile.
    """
    profiles = _read(path)
    if name not in profiles.get("profiles", {}) and profiles.get("active") != name:
        return False
    profiles.get("profiles", {}).pop(name, None)
    remembered = _active_before(path)
    if profiles.get("active") == name:
        before = remembered.read_text().strip() if remembered.exists() else ""
        if before in profiles.get("profiles", {}):
            profiles["active"] = before
        else:
            profiles.pop("active")
    remembered.unlink(missing_ok=True)
    if not profiles.get("profiles"):
        profiles.pop("profiles", None)
    if profiles:
        _write(path, profiles)
    else:
        path.unlink(missing_ok=True)
    return True


def _active_before(path: Path) -> Path:
    return path.with_name(".active-profile-before-server")


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are TOML's


def _write(path: Path, profiles: dict[str, Any]) -> None:
    """Write a profiles file (top-level keys, then one table per profile), mode 0600."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in profiles.items() if key != "profiles"]
    for name, settings in profiles.get("profiles", {}).items():
        lines += ["", f"[profiles.{json.dumps(name)}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in settings.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
