"""Every backend takes exactly the arguments of its protocol (mypy in `make test` checks the
types; this checks names, kinds and defaults, which structural typing lets differ)."""

from __future__ import annotations

import inspect

import pytest

from movie_ratings.registry.base import ModelRegistry
from movie_ratings.registry.hopsworks import HopsworksModelRegistry
from movie_ratings.registry.local import LocalModelRegistry
from movie_ratings.store.base import FeatureStore
from movie_ratings.store.hopsworks import HopsworksFeatureStore
from movie_ratings.store.local import LocalFeatureStore


def _members(protocol: type) -> list[str]:
    return [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]


def _shape(function: object) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(
    ("protocol", "backend"),
    [(FeatureStore, LocalFeatureStore), (FeatureStore, HopsworksFeatureStore),
     (ModelRegistry, LocalModelRegistry), (ModelRegistry, HopsworksModelRegistry)],
    ids=["local store", "hopsworks store", "local registry", "hopsworks registry"],
)
def test_the_backend_takes_exactly_the_protocols_arguments(protocol: type, backend: type) -> None:
    members = _members(protocol)
    assert members
    for name in members:
        assert _shape(getattr(backend, name)) == _shape(getattr(protocol, name)), name
