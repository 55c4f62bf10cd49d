"""Event-log reading, snapshot diffing, tombstones and the key join, on tiny inline tables."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from movie_ratings.schema import Feature, FeatureGroupSpec
from movie_ratings.store.changes import (
    DELETED,
    GroupChanges,
    LogIndex,
    current_rows,
    diff_against_log,
    join_on_key,
    same_values,
    tombstones,
    with_live_flag,
)

STR_LIST = pa.list_(pa.string())
D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
SPEC = FeatureGroupSpec(
    name="tiny",
    description="A tiny group for tests.",
    features=(
        Feature("id", pa.int64(), "key"),
        Feature("snapshot_date", pa.date32(), "event time"),
        Feature("score", pa.float64(), "a number"),
        Feature("name", pa.string(), "a string"),
        Feature("tags", STR_LIST, "a list"),
    ),
)


def group(*rows: tuple, day: date = D1) -> pa.Table:
    """Rows of SPEC from (id, score, name, tags) tuples, all at ``day``."""
    return pa.Table.from_pylist(
        [{"id": i, "snapshot_date": day, "score": s, "name": n, "tags": t} for i, s, n, t in rows],
        schema=SPEC.arrow_schema,
    )


def log(*rows: tuple) -> pa.Table:
    """A stored log from (id, day, score, deleted) tuples."""
    return pa.table(
        {
            "id": pa.array([r[0] for r in rows], pa.int64()),
            "snapshot_date": pa.array([r[1] for r in rows], pa.date32()),
            "score": pa.array([r[2] for r in rows], pa.float64()),
            DELETED: pa.array([r[3] for r in rows], pa.bool_()),
        }
    )


def chunked(values: list, dtype: pa.DataType) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(values, dtype)])


# --------------------------------------------------------------------------------------
# same_values
# --------------------------------------------------------------------------------------

NAN = float("nan")


@pytest.mark.parametrize(
    ("a", "b", "dtype", "expected"),
    [
        (1.0, 1.0, pa.float64(), True),
        (1.0, 1.5, pa.float64(), False),
        (0.0, -0.0, pa.float64(), True),
        (None, None, pa.float64(), True),
        (None, 1.0, pa.float64(), False),
        (1.0, None, pa.float64(), False),
        (NAN, None, pa.float64(), False),  # NaN is a value, not a null
        (None, NAN, pa.float64(), False),
        (NAN, 1.0, pa.float64(), False),
        ("a", "a", pa.string(), True),
        ("a", "A", pa.string(), False),
        ("", None, pa.string(), False),
        (None, None, pa.string(), True),
        (date(2020, 1, 1), date(2020, 1, 1), pa.date32(), True),
        (None, date(2020, 1, 1), pa.date32(), False),
        (["a", "b"], ["a", "b"], STR_LIST, True),
        (["a", "b"], ["b", "a"], STR_LIST, False),  # order matters
        (["a", "b"], ["a"], STR_LIST, False),
        (["a", "b"], ["a, b"], STR_LIST, False),
        ([], [], STR_LIST, True),
        ([], None, STR_LIST, False),  # empty list is not a missing list
        (None, None, STR_LIST, True),
        (["a"], None, STR_LIST, False),
    ],
)
def test_same_values(a, b, dtype: pa.DataType, expected: bool) -> None:
    out = same_values(chunked([a], dtype), chunked([b], dtype))
    assert isinstance(out, np.ndarray)
    assert out.tolist() == [expected]


def test_same_values_nan_equals_nan() -> None:
    nan = chunked([NAN], pa.float64())
    assert same_values(nan, nan).tolist() == [True]


def test_same_values_lists_with_a_null_item_differ_by_other_items() -> None:
    a, b = chunked([["a", None]], STR_LIST), chunked([["b", None]], STR_LIST)
    assert same_values(a, b).tolist() == [False]


def test_same_values_empty_list_differs_from_list_of_empty_string() -> None:
    assert same_values(chunked([[""]], STR_LIST), chunked([[]], STR_LIST)).tolist() == [False]


def test_same_values_is_elementwise_over_chunks() -> None:
    a = pa.chunked_array([pa.array([1.0, None]), pa.array([3.0])])
    b = pa.chunked_array([pa.array([1.0]), pa.array([None, 4.0])])
    assert same_values(a, b).tolist() == [True, True, False]
    assert same_values(chunked([], pa.float64()), chunked([], pa.float64())).tolist() == []


# --------------------------------------------------------------------------------------
# current_rows
# --------------------------------------------------------------------------------------


def _list_with_null_spanning_items(items: list[list[str]], nulls: list[bool]) -> pa.Array:
    """A list array whose null rows still span items (Arrow allows it; takes can make it)."""
    offsets = np.cumsum([0] + [len(x) for x in items]).astype(np.int32)
    values = pa.array([v for x in items for v in x], pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(nulls))


@pytest.mark.parametrize("seed", range(20))
def test_same_values_lists_agrees_with_python_on_random_lists(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60

    def random_lists() -> tuple[list[list[str]], list[bool]]:
        items = [[str(v) for v in rng.integers(0, 3, rng.integers(0, 4))] for _ in range(n)]
        return items, list(rng.random(n) < 0.2)

    a_items, a_nulls = random_lists()
    b_items, b_nulls = random_lists()
    # Many rows equal, as in a daily diff; some differ in length, items or nullness.
    for i in range(n):
        if rng.random() < 0.6:
            b_items[i], b_nulls[i] = list(a_items[i]), a_nulls[i]
    a = _list_with_null_spanning_items(a_items, a_nulls).slice(3)
    b = _list_with_null_spanning_items(b_items, b_nulls).slice(3)
    expected = [x == y for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True)]
    assert same_values(pa.chunked_array([a]), pa.chunked_array([b])).tolist() == expected


def test_current_rows_keeps_the_latest_event_of_each_key_in_log_order() -> None:
    events = log(
        (1, D1, 1.0, False),
        (2, D1, 2.0, False),
        (1, D3, 1.3, False),
        (3, D2, 3.0, False),
        (1, D2, 1.2, False),
    )
    out = current_rows(events, "id", "snapshot_date")
    assert out.column_names == ["id", "snapshot_date", "score"]
    assert out.to_pylist() == [
        {"id": 2, "snapshot_date": D1, "score": 2.0},
        {"id": 1, "snapshot_date": D3, "score": 1.3},
        {"id": 3, "snapshot_date": D2, "score": 3.0},
    ]


@pytest.mark.parametrize(
    ("events", "live"),
    [
        # latest event is a tombstone: the film is gone
        ([(1, D1, 1.0, False), (1, D2, None, True)], {}),
        # deleted, then back in a later snapshot
        ([(1, D1, 1.0, False), (1, D2, None, True), (1, D3, 1.5, False)], {1: 1.5}),
        # the tombstone is older than the live row (log out of time order)
        ([(1, D3, 1.5, False), (1, D2, None, True)], {1: 1.5}),
        # a lone tombstone (unique keys take a different path)
        ([(1, D1, None, True), (2, D1, 2.0, False)], {2: 2.0}),
        # a null flag is a live row
        ([(1, D1, 1.0, None)], {1: 1.0}),
        ([(1, D1, 1.0, False), (2, D1, 2.0, False), (2, D2, None, True)], {1: 1.0}),
        ([], {}),
    ],
)
def test_current_rows_honours_tombstones(events: list[tuple], live: dict[int, float]) -> None:
    out = current_rows(log(*events), "id", "snapshot_date")
    assert DELETED not in out.column_names
    assert dict(zip(out["id"].to_pylist(), out["score"].to_pylist(), strict=True)) == live


def test_current_rows_without_a_deleted_column() -> None:
    events = log((1, D1, 1.0, False), (1, D2, 2.0, False)).drop_columns([DELETED])
    out = current_rows(events, "id", "snapshot_date")
    assert out.to_pylist() == [{"id": 1, "snapshot_date": D2, "score": 2.0}]


def test_current_rows_unique_keys_is_the_log_without_the_flag() -> None:
    events = log((3, D2, 3.0, False), (1, D1, 1.0, False))
    out = current_rows(events, "id", "snapshot_date")
    assert out.equals(events.drop_columns([DELETED]))


def test_current_rows_carries_list_columns_and_multi_chunk_logs() -> None:
    first = with_live_flag(group((1, 1.0, "a", ["x"]), (2, 2.0, "b", None), day=D1))
    second = with_live_flag(group((1, 1.1, "a", ["x", "y"]), day=D2))
    out = current_rows(pa.concat_tables([first, second]), "id", "snapshot_date")
    assert out.schema == SPEC.arrow_schema
    assert out.to_pylist() == [
        {"id": 2, "snapshot_date": D1, "score": 2.0, "name": "b", "tags": None},
        {"id": 1, "snapshot_date": D2, "score": 1.1, "name": "a", "tags": ["x", "y"]},
    ]


def test_current_rows_gives_one_row_for_a_repeated_key_and_time() -> None:
    events = log((1, D1, 1.0, False), (1, D1, 2.0, False))
    out = current_rows(events, "id", "snapshot_date")
    assert out.num_rows == 1


def test_current_rows_does_not_mutate_its_input() -> None:
    events = log((1, D1, 1.0, False), (1, D2, None, True), (2, D1, 2.0, False))
    before = events.to_pylist()
    current_rows(events, "id", "snapshot_date")
    assert events.to_pylist() == before
    assert DELETED in events.column_names


@pytest.mark.parametrize("missing", ["id", "snapshot_date"])
def test_current_rows_missing_column_fails(missing: str) -> None:
    events = log((1, D1, 1.0, False), (1, D2, 2.0, False)).drop_columns([missing])
    with pytest.raises(KeyError, match=missing):
        current_rows(events, "id", "snapshot_date")


# --------------------------------------------------------------------------------------
# diff_against_log over a table of current rows


def diff_group(current: pa.Table, incoming: pa.Table, spec: FeatureGroupSpec) -> GroupChanges:
    """The diff as a backend runs it, over current rows held in one table."""
    return diff_against_log(LogIndex.of_current(current, spec.primary_key[0]), current.column,
                            incoming, spec)
# --------------------------------------------------------------------------------------


def counts(changes: GroupChanges) -> tuple[int, int, int, int]:
    return changes.new, changes.changed, changes.unchanged, changes.deleted


def test_diff_group_new_changed_unchanged_deleted() -> None:
    current = group(
        (1, 1.0, "a", ["x"]), (2, 2.0, "b", ["y"]), (3, 3.0, "c", None), (4, 4.0, "d", [])
    )
    incoming = group(
        (5, 5.0, "e", ["z"]),  # new
        (3, 3.0, "c", None),  # unchanged
        (1, 1.0, "a", ["x"]),  # unchanged
        (2, 2.5, "b", ["y"]),  # changed
        day=D2,
    )  # 4 is deleted
    changes = diff_group(current, incoming, SPEC)
    assert counts(changes) == (1, 1, 2, 1)
    assert changes.deleted_ids.tolist() == [4]
    assert changes.upserts.schema == SPEC.arrow_schema
    assert changes.upserts["id"].to_pylist() == [5, 2]  # incoming order
    assert changes.upserts["snapshot_date"].to_pylist() == [D2, D2]
    assert changes.changed_or_new_ids("id").tolist() == [5, 2]
    assert not changes.is_empty


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        ((1, 1.0, "a", ["x"]), (1, 1.0, "a", ["x"]), False),
        ((1, None, None, None), (1, None, None, None), False),
        ((1, 1.0, "a", ["x"]), (1, None, "a", ["x"]), True),
        ((1, None, "a", ["x"]), (1, 1.0, "a", ["x"]), True),
        ((1, 1.0, "a", ["x"]), (1, 1.0, "b", ["x"]), True),
        ((1, 1.0, "a", ["x"]), (1, 1.0, None, ["x"]), True),
        ((1, 1.0, "a", ["x", "y"]), (1, 1.0, "a", ["y", "x"]), True),
        ((1, 1.0, "a", ["x"]), (1, 1.0, "a", ["x", "y"]), True),
        ((1, 1.0, "a", ["x"]), (1, 1.0, "a", None), True),
        ((1, 1.0, "a", []), (1, 1.0, "a", None), True),
        ((1, 1.0, "a", []), (1, 1.0, "a", []), False),
        ((1, 1.0, "a", ["x, y"]), (1, 1.0, "a", ["x", "y"]), True),
    ],
)
def test_diff_group_compares_every_value_column(before: tuple, after: tuple, changed: bool) -> None:
    changes = diff_group(group(before, day=D1), group(after, day=D2), SPEC)
    assert counts(changes) == (0, int(changed), int(not changed), 0)
    assert changes.upserts.num_rows == int(changed)
    assert changes.is_empty is (not changed)


def test_diff_group_ignores_the_event_time() -> None:
    rows = ((1, 1.0, "a", ["x"]), (2, None, None, None))
    changes = diff_group(group(*rows, day=D1), group(*rows, day=D3), SPEC)
    assert counts(changes) == (0, 0, 2, 0)
    assert changes.is_empty
    assert changes.upserts.num_rows == 0
    assert changes.upserts.schema == SPEC.arrow_schema


def test_diff_group_on_an_empty_group_makes_everything_new() -> None:
    incoming = group((2, 2.0, "b", None), (1, 1.0, "a", ["x"]))
    changes = diff_group(SPEC.arrow_schema.empty_table(), incoming, SPEC)
    assert counts(changes) == (2, 0, 0, 0)
    assert changes.upserts.equals(incoming)
    assert changes.deleted_ids.dtype == np.int64


def test_diff_group_with_an_empty_snapshot_deletes_everything() -> None:
    current = group((1, 1.0, "a", None), (2, 2.0, "b", None))
    changes = diff_group(current, SPEC.arrow_schema.empty_table(), SPEC)
    assert counts(changes) == (0, 0, 0, 2)
    assert sorted(changes.deleted_ids.tolist()) == [1, 2]
    assert changes.upserts.num_rows == 0
    assert not changes.is_empty


def test_diff_group_of_two_empty_tables_is_empty() -> None:
    empty = SPEC.arrow_schema.empty_table()
    changes = diff_group(empty, empty, SPEC)
    assert counts(changes) == (0, 0, 0, 0)
    assert changes.is_empty


@pytest.mark.parametrize(
    ("current_ids", "incoming_ids", "expected"),
    [
        ([1, 2, 3], [1, 2, 3], (0, 0, 3, 0)),
        ([3, 1, 2], [2, 3, 1], (0, 0, 3, 0)),  # order does not matter
        ([1, 2, 3], [4, 5], (2, 0, 0, 3)),  # disjoint
        ([10], [1, 5, 20], (3, 0, 0, 1)),  # below, between and above the only key
        ([2, 4, 6], [1, 2, 3, 4, 5, 6, 7], (4, 0, 3, 0)),
        ([1, 2, 3, 4], [4], (0, 0, 1, 3)),
    ],
)
def test_diff_group_matches_keys(current_ids, incoming_ids, expected) -> None:
    current = group(*[(i, float(i), "n", ["t"]) for i in current_ids])
    incoming = group(*[(i, float(i), "n", ["t"]) for i in incoming_ids], day=D2)
    changes = diff_group(current, incoming, SPEC)
    assert counts(changes) == expected
    assert sorted(changes.deleted_ids.tolist()) == sorted(set(current_ids) - set(incoming_ids))
    assert changes.upserts["id"].to_pylist() == [i for i in incoming_ids if i not in current_ids]


def test_diff_group_does_not_mutate_its_inputs() -> None:
    current = group((1, 1.0, "a", ["x"]), (2, 2.0, "b", None))
    incoming = group((2, 3.0, "b", None), (3, 3.0, "c", []), day=D2)
    before = current.to_pylist(), incoming.to_pylist()
    diff_group(current, incoming, SPEC)
    assert (current.to_pylist(), incoming.to_pylist()) == before


@pytest.mark.parametrize("missing", ["id", "score", "tags"])
def test_diff_group_missing_column_fails(missing: str) -> None:
    current = group((1, 1.0, "a", ["x"]))
    incoming = group((1, 2.0, "a", ["x"]), day=D2).drop_columns([missing])
    with pytest.raises(KeyError, match=missing):
        diff_group(current, incoming, SPEC)


def test_diff_then_log_round_trip() -> None:
    """Appending the upserts and tombstones to the log gives the snapshot back."""
    day1 = group((1, 1.0, "a", ["x"]), (2, 2.0, "b", None), (3, 3.0, "c", []), day=D1)
    stored = with_live_flag(day1)
    day2 = group((3, 3.0, "c", []), (1, 1.5, "a", ["x"]), (4, 4.0, "d", ["w"]), day=D2)
    changes = diff_group(current_rows(stored, "id", "snapshot_date"), day2, SPEC)
    stored = pa.concat_tables(
        [stored, with_live_flag(changes.upserts), tombstones(changes.deleted_ids, SPEC, D2)]
    )
    current = current_rows(stored, "id", "snapshot_date")
    by_id = {r["id"]: r for r in current.to_pylist()}
    assert sorted(by_id) == [1, 3, 4]
    assert by_id[1]["score"] == 1.5 and by_id[1]["snapshot_date"] == D2
    assert by_id[3]["snapshot_date"] == D1  # unchanged rows keep their first event time
    assert diff_group(current, day2, SPEC).is_empty


# --------------------------------------------------------------------------------------
# tombstones / with_live_flag
# --------------------------------------------------------------------------------------


def test_tombstones_have_only_key_and_time() -> None:
    out = tombstones(np.array([7, 3]), SPEC, D3)
    assert out.schema == pa.schema([*SPEC.arrow_schema, pa.field(DELETED, pa.bool_())])
    assert out.to_pylist() == [
        {"id": 7, "snapshot_date": D3, "score": None, "name": None, "tags": None, DELETED: True},
        {"id": 3, "snapshot_date": D3, "score": None, "name": None, "tags": None, DELETED: True},
    ]


def test_tombstones_of_no_ids() -> None:
    out = tombstones(np.array([], np.int64), SPEC, D1)
    assert out.num_rows == 0
    assert out.column_names == [*SPEC.column_names, DELETED]


def test_with_live_flag_appends_false_and_leaves_input_alone() -> None:
    table = group((1, 1.0, "a", ["x"]), (2, None, None, None))
    out = with_live_flag(table)
    assert out.column_names == [*SPEC.column_names, DELETED]
    assert out[DELETED].to_pylist() == [False, False]
    assert out.drop_columns([DELETED]).equals(table)
    assert DELETED not in table.column_names
    assert with_live_flag(SPEC.arrow_schema.empty_table())[DELETED].type == pa.bool_()


# --------------------------------------------------------------------------------------
# join_on_key
# --------------------------------------------------------------------------------------


def test_join_on_key_is_a_left_join_in_left_order() -> None:
    left = pa.table({"id": [3, 1, 9], "a": [30, 10, 90]})
    right = pa.table(
        {
            "id": [2, 1, 3],  # 2 is not in left; 9 is not in right
            "b": [2.0, 1.0, 3.0],
            "tags": pa.array([["z"], ["x", "y"], []], STR_LIST),
        }
    )
    out = join_on_key(left, right, "id")
    assert out.schema == pa.schema(
        [("id", pa.int64()), ("a", pa.int64()), ("b", pa.float64()), ("tags", STR_LIST)]
    )
    assert out.to_pylist() == [
        {"id": 3, "a": 30, "b": 3.0, "tags": []},
        {"id": 1, "a": 10, "b": 1.0, "tags": ["x", "y"]},
        {"id": 9, "a": 90, "b": None, "tags": None},
    ]


def test_join_on_key_drop_and_shared_columns_keep_left() -> None:
    left = pa.table({"id": [1, 2], "snapshot_date": pa.array([D1, D1]), "name": ["l1", "l2"]})
    right = pa.table(
        {
            "id": [2, 1],
            "snapshot_date": pa.array([D3, D3]),
            "name": ["r2", "r1"],
            "extra": ["e2", "e1"],
            "skip": [0, 0],
        }
    )
    out = join_on_key(left, right, "id", drop=("skip",))
    assert out.column_names == ["id", "snapshot_date", "name", "extra"]
    assert out["snapshot_date"].to_pylist() == [D1, D1]
    assert out["name"].to_pylist() == ["l1", "l2"]
    assert out["extra"].to_pylist() == ["e1", "e2"]


@pytest.mark.parametrize(
    ("left_ids", "right_ids", "expected"),
    [
        ([1, 2], [], [None, None]),  # empty right
        ([], [1, 2], []),  # empty left
        ([5], [1, 3], [None]),  # above every right key
        ([0], [1, 3], [None]),  # below every right key
        ([2], [1, 3], [None]),  # between
        ([3, 3, 1], [1, 3], [3, 3, 1]),  # repeated left keys
        ([1, 2, 3], [3, 2, 1], [1, 2, 3]),
    ],
)
def test_join_on_key_missing_keys_on_either_side(left_ids, right_ids, expected) -> None:
    left = pa.table({"id": pa.array(left_ids, pa.int64())})
    right = pa.table(
        {
            "id": pa.array(right_ids, pa.int64()),
            "v": pa.array(right_ids, pa.int64()),
            "tags": pa.array([[str(i)] for i in right_ids], STR_LIST),
        }
    )
    out = join_on_key(left, right, "id")
    assert out.schema.field("v").type == pa.int64()
    assert out.schema.field("tags").type == STR_LIST
    assert out["v"].to_pylist() == expected
    assert out["tags"].to_pylist() == [None if v is None else [str(v)] for v in expected]


def test_join_on_key_over_multi_chunk_tables() -> None:
    left = pa.concat_tables([pa.table({"id": [1]}), pa.table({"id": [2, 3]})])
    right = pa.concat_tables(
        [
            pa.table({"id": [3], "tags": pa.array([["c"]], STR_LIST)}),
            pa.table({"id": [1], "tags": pa.array([None], STR_LIST)}),
        ]
    )
    out = join_on_key(left, right, "id")
    assert out["tags"].to_pylist() == [None, None, ["c"]]


def test_join_on_key_does_not_mutate_its_inputs() -> None:
    left = pa.table({"id": [1, 2]})
    right = pa.table({"id": [2], "b": ["x"]})
    join_on_key(left, right, "id")
    assert left.column_names == ["id"]
    assert right.to_pylist() == [{"id": 2, "b": "x"}]


@pytest.mark.parametrize("side", ["left", "right"])
def test_join_on_key_missing_key_column_fails(side: str) -> None:
    left = pa.table({"id": [1], "a": [1]})
    right = pa.table({"id": [1], "b": [1]})
    if side == "left":
        left = left.drop_columns(["id"])
    else:
        right = right.drop_columns(["id"])
    with pytest.raises(KeyError, match="id"):
        join_on_key(left, right, "id")
