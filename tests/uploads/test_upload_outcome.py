"""A job's outcome in numbers and words (uploads.outcome), singular and plural."""

import pytest

from fundushub.uploads.outcome import Outcome

DUP = {"filename": "d.jpg", "reason": "Duplicate file"}
BIG = {"filename": "b.jpg", "reason": "File too large (max 5MB)"}


@pytest.mark.parametrize(
    ("counts", "rejected", "words"),
    [
        ({"completed": 11, "duplicate": 1}, [], "11 of 12 stored; 1 was already stored."),
        ({"completed": 1}, [], "1 of 1 stored."),
        ({"duplicate": 2}, [], "0 of 2 stored; 2 were already stored."),
        ({"completed": 3, "error": 2}, [], "3 of 5 stored; 2 failed."),
        (
            {"completed": 1},
            [DUP, BIG],
            "1 of 3 stored; 1 was already stored; 1 failed. "
            "2 of them were left out by the browser before upload.",
        ),
        (
            {"completed": 1},
            [DUP],
            "1 of 2 stored; 1 was already stored. "
            "1 of them was left out by the browser before upload.",
        ),
        (
            {"completed": 2, "queued": 1, "processing": 1},
            [],
            "2 of 4 stored so far; 2 still to process.",
        ),
        ({}, [], "No files."),
    ],
)
def test_it_says_what_happened_in_words(counts, rejected, words):
    assert Outcome.of(counts, rejected).sentence() == words


def test_every_chosen_file_is_counted_exactly_once():
    o = Outcome.of({"completed": 4, "duplicate": 1, "error": 2, "queued": 1}, [DUP, BIG, BIG])
    assert o.selected == 11
    assert o.stored + o.duplicates + o.failed + o.pending == o.selected
    assert (o.duplicates, o.failed, o.left_out) == (2, 4, 3)
    assert o.in_store == 5  # the left-out duplicate's image is not known to the job
