"""Reading a subject identifier out of a file name with a regular expression.

The pattern comes from the administrator (FUNDUSHUB_SUBJECT_PATTERN) or from the upload form, so
it is bounded before it is used: at most MAX_LENGTH characters; no back-references; a quantifier
may repeat one character (a class, a literal, `.`), never a group; and at most two quantifiers may
vary in count. That keeps the cost of a search on a name of at most MAX_NAME characters
polynomial and small (about 10 ms for the worst such pattern on 255 characters; a third varying
quantifier would make it 25 times that), with no timeout to tune. The subject is the group named
`subject` when the pattern has one, else the whole match; the first match in the name wins.
"""

import os
import re
from re import _constants as sre  # the parser re itself uses (Python 3.11+), to inspect a pattern
from re import _parser

from django.core.exceptions import ImproperlyConfigured

# Identifiers like 105-10-0989-3, not glued to further digits (so 1105-10-0989-33 is not one).
DEFAULT = r"(?<![0-9])[0-9]{3}-[0-9]{2}-[0-9]{4}-[0-9](?![0-9])"
MAX_LENGTH = 200
MAX_NAME = 255  # a name is cut to this before matching (the store keeps no longer names)
MAX_VARYING = 2
GROUP = "subject"

_ONE_CHARACTER = {sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN}
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT}


class BadPattern(ValueError):
    """str(error) says what is wrong, in words for the person who wrote the pattern."""


def _children(op, av) -> list:
    """The sub-patterns of one parsed item."""
    if op is sre.SUBPATTERN:
        return [av[3]]
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [av[1]]
    if op is sre.BRANCH:
        return list(av[1])
    if op is sre.ATOMIC_GROUP:
        return [av]
    return []


def _check(tree) -> None:
    varying = 0
    stack = [tree]
    while stack:
        for op, av in stack.pop():
            if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
                raise BadPattern("back-references (\\1, (?P=name), (?(1)…)) are not allowed")
            if op in _REPEATS:
                low, high, body = av
                if len(body) != 1 or body[0][0] not in _ONE_CHARACTER:
                    raise BadPattern(
                        "a quantifier (*, +, ?, {m,n}) may only repeat a single character "
                        "or class, such as \\d+ or [A-Z]{2}, not a group"
                    )
                varying += low != high
                continue
            stack.extend(_children(op, av))
    if varying > MAX_VARYING:
        raise BadPattern(
            f"at most {MAX_VARYING} quantifiers may vary in count (*, +, ?, {{m,n}}); "
            "fixed counts such as {4} are not limited"
        )


def compile_pattern(raw: str) -> re.Pattern:
    """The compiled pattern, or BadPattern saying why it cannot be used."""
    if len(raw) > MAX_LENGTH:
        raise BadPattern(f"it is longer than {MAX_LENGTH} characters")
    if "\x00" in raw:
        raise BadPattern("it contains a NUL character")
    try:
        _check(_parser.parse(raw))
        pattern = re.compile(raw)
    except re.error as e:
        raise BadPattern(f"it is not a valid regular expression ({e})") from None
    if not pattern.pattern:
        raise BadPattern("it is empty")
    return pattern


def subject_in_name(stem: str, pattern: re.Pattern) -> str:
    """The subject the pattern finds in a file name's stem, or "" when it finds none."""
    match = pattern.search(stem[:MAX_NAME])
    if match is None:
        return ""
    value = match.group(GROUP) if GROUP in pattern.groupindex else match.group(0)
    return (value or "").strip()


def configured(env_name: str) -> str:
    """The administrator's pattern from the environment (else DEFAULT), refused at start-up if unusable."""
    raw = os.environ.get(env_name, "").strip() or DEFAULT
    try:
        compile_pattern(raw)
    except BadPattern as e:
        raise ImproperlyConfigured(f"{env_name} cannot be used: {e}") from None
    return raw
