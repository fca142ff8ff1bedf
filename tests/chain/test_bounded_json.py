"""JSON from others is parsed only once its nesting is known to be shallow (v2vchain/boundedjson.py)."""

from __future__ import annotations

import pytest

from v2vchain import boundedjson


def test_json_nested_to_the_bound_parses_and_one_level_more_is_refused() -> None:
    assert boundedjson.loads("[" * 64 + "]" * 64) is not None
    with pytest.raises(ValueError, match="nested more than 64 deep"):
        boundedjson.loads("[" * 65 + "]" * 65)


def test_brackets_and_escaped_quotes_inside_strings_are_no_nesting() -> None:
    text = '{"a": ["[[[{", "\\"[[[", "\\\\"]}'
    assert boundedjson.depth(text) == 2
    assert boundedjson.loads(text) == {"a": ["[[[{", '"[[[', "\\"]}


def test_nesting_is_counted_across_the_chunks_of_a_long_answer() -> None:
    text = "[" + " " * (1 << 20) + "[" * 70 + "]" * 71
    assert boundedjson.depth(text) == 71


def test_bytes_that_are_not_utf8_are_refused_as_not_json() -> None:
    with pytest.raises(ValueError):
        boundedjson.loads(b'["\xff"]')
