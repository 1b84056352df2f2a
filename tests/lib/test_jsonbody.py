"""fundushub.lib.jsonbody: the one bounded JSON parser every JSON endpoint uses."""

import json

import pytest

from fundushub.lib import jsonbody
from fundushub.lib.jsonbody import InvalidJSON


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_it_parses_an_ordinary_object():
    assert jsonbody.parse(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_not():
    assert jsonbody.parse(nested(32), expect=None, max_depth=32)
    with pytest.raises(InvalidJSON, match="nested too deeply \\(at most 32 levels\\)"):
        jsonbody.parse(nested(33), expect=None, max_depth=32)


def test_nesting_deep_enough_to_exhaust_the_stack_is_refused_not_a_recursion_error():
    with pytest.raises(InvalidJSON, match="nested too deeply"):
        jsonbody.parse(nested(200_000), expect=None, max_bytes=10**6)


def test_the_largest_database_integers_are_accepted_and_one_beyond_is_not():
    assert jsonbody.parse(json.dumps([2**63 - 1, -(2**63)]), expect=list) == [2**63 - 1, -(2**63)]
    for beyond in (str(2**63), str(-(2**63) - 1), str(2**70), "1" + "0" * 5000):
        with pytest.raises(InvalidJSON, match="out of range"):
            jsonbody.parse(beyond, expect=None)


@pytest.mark.parametrize("text", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_numbers_that_are_not_finite_are_refused(text):
    with pytest.raises(InvalidJSON):
        jsonbody.parse(f"[{text}]", expect=None)


@pytest.mark.parametrize(
    "raw, message",
    [
        (b'["a\\u0000b"]', "NUL"),
        (b'{"a\\u0000": 1}', "NUL"),
        (b'["\\ud800"]', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
    ],
)
def test_text_a_database_would_refuse_is_refused(raw, message):
    with pytest.raises(InvalidJSON, match=message):
        jsonbody.parse(raw, expect=None)


def test_a_proper_surrogate_pair_is_text_like_any_other():
    assert jsonbody.parse(b'["\\ud83d\\ude00"]', expect=list) == ["\U0001f600"]


def test_the_size_is_checked_before_parsing():
    with pytest.raises(InvalidJSON, match="too large \\(at most 1 kB\\)"):
        jsonbody.parse(b" " * 1001 + b"{}", max_bytes=1000)


@pytest.mark.parametrize(
    "raw, expect, message",
    [
        (b"", dict, "The body is empty"),
        (b"   ", dict, "The body is empty"),
        (b"{", dict, "The body is not valid JSON (Expecting property name"),
        (b"\xff\xfe\xfd", dict, "The body is not valid JSON (not UTF-8 text)"),
        (b"[1]", dict, "The body must be a JSON object"),
        (b"{}", list, "The body must be a JSON array"),
    ],
)
def test_what_is_wrong_is_said_in_words(raw, expect, message):
    with pytest.raises(InvalidJSON) as e:
        jsonbody.parse(raw, expect=expect)
    assert str(e.value).startswith(message)


def test_messages_name_what_was_sent():
    with pytest.raises(InvalidJSON, match="^The edit is not valid JSON"):
        jsonbody.parse(b"nope", what="The edit")


@pytest.mark.parametrize(
    "doc, message",
    [
        ({}, "n is required"),
        ({"n": None}, "n is required"),
        ({"n": True}, "n must be a whole number"),
        ({"n": 1.0}, "n must be a whole number"),
        ({"n": "1"}, "n must be a whole number"),
        ({"n": 0}, "n must be from 1 to"),
    ],
)
def test_integer_takes_only_whole_numbers_in_range(doc, message):
    with pytest.raises(InvalidJSON, match=message):
        jsonbody.integer(doc, "n")


def test_integer_returns_the_number():
    assert jsonbody.integer({"n": 7}, "n", maximum=7) == 7


def test_strings_checks_type_count_and_length():
    assert jsonbody.strings({"s": ["ab"]}, "s", max_items=1, max_length=2) == ["ab"]
    assert jsonbody.strings({}, "s", max_items=1, max_length=2, default=[]) == []
    for doc, message in [
        ({"s": "ab"}, "list of strings"),
        ({"s": [1]}, "list of strings"),
        ({"s": ["a", "b"]}, "at most 1 items"),
        ({"s": ["abc"]}, "at most 2 characters"),
        ({}, "s is required"),
    ]:
        with pytest.raises(InvalidJSON, match=message):
            jsonbody.strings(doc, "s", max_items=1, max_length=2)
