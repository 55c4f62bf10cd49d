"""Prefect flows: they only compose tasks and return a small summary."""
