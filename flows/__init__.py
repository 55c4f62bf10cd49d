"""Prefect flows: they only compose tasks and return a small summary."""

import movie_ratings  # noqa: F401  (process-wide settings that must precede XGBoost)
