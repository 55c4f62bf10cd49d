"""Prefect tasks: one module per stage, pure functions first, a thin ``@task`` at the bottom."""

import movie_ratings  # noqa: F401  (process-wide settings that must precede XGBoost)
