"""movie-ratings: predict IMDb ratings of upcoming films from a daily TMDB snapshot."""

import os

__version__ = "0.1.0"

# OpenMP threads (XGBoost, scikit-learn) that wait for work sleep instead of spinning.
# The OpenMP runtime reads this once, when XGBoost or scikit-learn loads it, so it is set
# here: every flow, task and CLI command imports this package first. On a shared machine
# (a CI runner, a 2-core box running tests) spinning threads fight over the cores: the
# default XGBoost took 75 s instead of 31 s on the 1.2M-film snapshot with other work
# running, and 37 s instead of 3 s on 1,600 films (bench/RESULTS.md). An explicit
# OMP_WAIT_POLICY in the environment is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
