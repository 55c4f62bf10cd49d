"""Process-wide settings a process applies once, at its start, before it loads XGBoost.

Nothing here runs at import time: the CLI's ``main``, the environment of the deployment
processes (``deployments/local.py``), the benchmark's children and the tests call
:func:`configure_process`.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

#: Environment defaults of every process that trains or predicts. OpenMP threads (XGBoost,
#: scikit-learn) that wait for work sleep instead of spinning: on a shared machine spinning
#: threads fight over the cores (README, Performance). The OpenMP runtime reads this once,
#: when XGBoost or scikit-learn first loads it, so it must be set before those imports.
PROCESS_ENV: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE"}


def configure_process(environ: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Set :data:`PROCESS_ENV` in an environment; a value already there is kept.

    Args:
        environ: the environment of a process about to start (this process's own,
            ``os.environ``, when omitted).

    Returns:
        The environment, updated.
    """
    env = os.environ if environ is None else environ
    for key, value in PROCESS_ENV.items():
        env.setdefault(key, value)
    return env
