"""Prefect tasks: one module per stage, pure functions first, a thin ``@task`` at the bottom."""
