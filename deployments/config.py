"""``prefect.yaml`` read as data: the one definition of the deployments.

``prefect deploy --all`` reads the file itself; :mod:`deployments.serve` and
:mod:`deployments.server_setup` read it through here, so a deployment added to the file is
served, scheduled and given its work pool without touching Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = ROOT / "prefect.yaml"


def load_deployments(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The ``deployments:`` entries of a ``prefect.yaml``, YAML anchors resolved.

    Args:
        path: the file.

    Returns:
        One dict per deployment, as written (``name``, ``entrypoint``, ``parameters``...).

    Raises:
        ValueError: when the file has no deployments or an entry lacks a name or entrypoint.
    """
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    deployments = document.get("deployments") or []
    if not deployments:
        raise ValueError(f"{path}: no deployments")
    for number, deployment in enumerate(deployments, start=1):
        missing = [key for key in ("name", "entrypoint") if not deployment.get(key)]
        if missing:
            raise ValueError(f"{path}: deployment #{number} has no {' or '.join(missing)}")
    return deployments


def work_pool_names(deployments: list[dict[str, Any]]) -> list[str]:
    """The work pools the deployments name, each once, in order of first use."""
    names: list[str] = []
    for deployment in deployments:
        name = (deployment.get("work_pool") or {}).get("name")
        if name and name not in names:
            names.append(name)
    return names
