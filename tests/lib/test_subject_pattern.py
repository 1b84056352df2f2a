"""lib/subject_pattern.py: a subject identifier read out of a file name, by a bounded pattern."""

import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from fundushub.lib.subject_pattern import (
    DEFAULT,
    MAX_LENGTH,
    BadPattern,
    compile_pattern,
    configured,
    subject_in_name,
)


def subject(stem, raw=DEFAULT):
    return subject_in_name(stem, compile_pattern(raw))


@pytest.mark.parametrize(
    "stem, found",
    [
        ("105-10-0989-3_L", "105-10-0989-3"),
        ("scan 105-10-0989-3 OD", "105-10-0989-3"),
        ("105-10-0989-3", "105-10-0989-3"),
        ("x105-10-0989-3", "105-10-0989-3"),
        ("1105-10-0989-3", ""),  # glued to another digit: part of a longer number
        ("105-10-0989-33", ""),
        ("105-10-989-3", ""),
        ("IMG_0001", ""),
        ("", ""),
    ],
)
def test_the_default_pattern_finds_identifiers_like_the_cameras(stem, found):
    assert subject(stem) == found


def test_the_first_match_wins():
    assert subject("105-10-0989-3_105-10-0989-4") == "105-10-0989-3"


def test_a_group_named_subject_is_the_subject():
    assert subject("P0042_visit2_L", r"^(?P<subject>P\d+)_") == "P0042"


def test_without_a_named_group_the_whole_match_is_the_subject():
    assert subject("ward7-P0042-L", r"P\d+") == "P0042"


def test_a_named_group_that_takes_no_part_gives_no_subject():
    assert subject("abc", r"abc|(?P<subject>x)") == ""


def test_it_strips_spaces_around_what_it_found():
    assert subject("  P1 _L", r"^(?P<subject>[^_]+)_") == "P1"


def test_it_matches_only_the_first_255_characters():
    assert subject("a" * 255 + "P1", r"P\d") == ""
    assert subject("a" * 253 + "P1", r"P\d") == "P1"


@pytest.mark.parametrize(
    "raw, why",
    [
        ("(", "not a valid regular expression"),
        ("[a-", "not a valid regular expression"),
        ("x" * (MAX_LENGTH + 1), f"longer than {MAX_LENGTH} characters"),
        ("", "empty"),
        ("a\x00", "NUL"),
        (r"(a)\1", "back-references"),
        (r"(?P<x>a)(?P=x)", "back-references"),
        (r"(a)(?(1)b|c)", "back-references"),
        (r"(a+)+$", "not a group"),  # the classic catastrophic pattern
        (r"(?:a|aa)*$", "not a group"),
        (r"(?:ab){2,}", "not a group"),
        (r"\w*\w*\w*!", "at most 2 quantifiers may vary"),
        (r"\d+-\d+-\d+", "at most 2 quantifiers may vary"),
        (r"(?=\w*)\w*\w*", "at most 2 quantifiers may vary"),  # in a lookahead too
        (r"a*|b*|c*", "at most 2 quantifiers may vary"),  # and across alternatives
    ],
)
def test_it_refuses_a_pattern_it_cannot_use_and_says_why(raw, why):
    with pytest.raises(BadPattern, match=re.escape(why)):
        compile_pattern(raw)


@pytest.mark.parametrize(
    "raw",
    [
        DEFAULT,
        r"^(?P<subject>[^_]+)_",
        r"(?P<subject>\d+-\d+)",
        r"(?P<subject>[A-Z]{2}\d{6})",
        r"\d{3}-\d{2}-\d{4}-\d",  # fixed counts do not count as varying
        r"(?i)(?P<subject>pt\d+)(?=_)",
        r"(?:ab|cd)\d+",
    ],
)
def test_it_accepts_patterns_of_the_usual_shapes(raw):
    assert compile_pattern(raw).pattern == raw


def test_the_configured_pattern_defaults_to_the_camera_identifiers(monkeypatch):
    monkeypatch.delenv("FUNDUSHUB_SUBJECT_PATTERN", raising=False)
    assert configured("FUNDUSHUB_SUBJECT_PATTERN") == DEFAULT
    monkeypatch.setenv("FUNDUSHUB_SUBJECT_PATTERN", "  ")
    assert configured("FUNDUSHUB_SUBJECT_PATTERN") == DEFAULT


def test_the_configured_pattern_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("FUNDUSHUB_SUBJECT_PATTERN", r"^(?P<subject>P\d+)")
    assert configured("FUNDUSHUB_SUBJECT_PATTERN") == r"^(?P<subject>P\d+)"


@pytest.mark.parametrize("raw", ["(", r"(a+)+"])
def test_an_unusable_configured_pattern_stops_the_server_with_its_name(monkeypatch, raw):
    monkeypatch.setenv("FUNDUSHUB_SUBJECT_PATTERN", raw)
    with pytest.raises(ImproperlyConfigured, match="FUNDUSHUB_SUBJECT_PATTERN cannot be used"):
        configured("FUNDUSHUB_SUBJECT_PATTERN")
