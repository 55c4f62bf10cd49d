"""Batch predictions written as CSV cannot run as spreadsheet formulas."""

from __future__ import annotations

import pyarrow as pa

from tasks.predict import spreadsheet_safe


def test_text_cells_starting_like_a_formula_are_prefixed_with_a_quote() -> None:
    titles = ["=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)", "\tx", "Up", "a=b", None, ""]
    table = pa.table({"id": [1, 2, 3, 4, 5, 6, 7, 8, 9], "title": titles,
                      "predicted_rating": [-1.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0]})
    safe = spreadsheet_safe(table)
    assert safe["title"].to_pylist() == [
        "'=HYPERLINK(\"http://evil\")", "'+1+1", "'-2", "'@SUM(A1)", "'\tx", "Up", "a=b", None, "",
    ]
    assert safe["predicted_rating"].to_pylist()[0] == -1.0 and safe["id"] == table["id"]
    assert table["title"].to_pylist() == titles  # the input is not changed
