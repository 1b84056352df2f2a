"""uploads/subjects.py: what a subject identifier may be, and the registry's word on a batch."""

import pytest

from fundushub.camera.models import Subject
from fundushub.uploads.subjects import InvalidLabel, clean_subject, registry_refusal


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("105-10-0989-3", "105-10-0989-3"),
        ("  P0042 ", "P0042"),
        ("Ab_1.2-x", "Ab_1.2-x"),
        ("Ünal-7", "Ünal-7"),  # letters of any script
        ("", ""),
        ("   ", ""),
        (None, ""),
        ("9" * 50, "9" * 50),
    ],
)
def test_it_keeps_a_valid_identifier_without_surrounding_spaces(raw, clean):
    assert clean_subject(raw) == clean


@pytest.mark.parametrize(
    "raw", ["9" * 51, "a b", "a/b", "../etc", "-105", "_x", ".x", "a\x00", "a;b", "<script>"]
)
def test_it_refuses_an_identifier_that_is_too_long_or_has_other_characters(raw):
    with pytest.raises(InvalidLabel, match="is not a valid identifier: use at most 50"):
        clean_subject(raw)


def test_a_refusal_says_where_the_identifier_came_from():
    with pytest.raises(InvalidLabel, match="^File 2: The subject 'a b'"):
        clean_subject("a b", "File 2: ")


def test_a_long_identifier_is_cut_short_in_the_message():
    with pytest.raises(InvalidLabel) as refused:
        clean_subject("x" * 500)
    assert len(str(refused.value)) < 250


def register(world, *identifiers, hospital=None):
    for identifier in identifiers:
        Subject.objects.create(subject_identifier=identifier, site=hospital or world.st_lucia)


def test_a_hospital_without_a_registry_takes_any_subject(world):
    register(world, "S1", hospital=world.northgate)
    assert registry_refusal(world.st_lucia, ["S9"]) == ""


def test_a_registry_that_knows_every_subject_refuses_nothing(world):
    register(world, "S1", "S2")
    assert registry_refusal(world.st_lucia, ["S1", "S2", "S1", ""]) == ""


def test_subjects_the_registry_does_not_know_are_named(world):
    register(world, "S1")
    assert registry_refusal(world.st_lucia, ["S1", "S7", "S8", "S7"]) == (
        "Not uploaded: 2 subjects are not in the subject registry of St Lucia: S7, S8. "
        "Check the identifiers, or register the subjects first."
    )


def test_one_unknown_subject_is_named_in_the_singular(world):
    register(world, "S1")
    assert "1 subject is not in the subject registry" in registry_refusal(world.st_lucia, ["S2"])


def test_another_hospitals_subject_is_unknown_here(world):
    register(world, "S1")
    register(world, "N1", hospital=world.northgate)
    assert "N1" in registry_refusal(world.st_lucia, ["N1"])


def test_a_long_list_of_unknown_subjects_names_ten_and_counts_the_rest(world):
    register(world, "S1")
    message = registry_refusal(world.st_lucia, [f"X{i}" for i in range(25)])
    assert "25 subjects" in message and "X9 and 15 more." in message and "X10" not in message


def test_a_batch_without_subjects_does_not_ask_the_registry(world, monkeypatch):
    asked = []
    monkeypatch.setattr(
        "fundushub.uploads.subjects.unknown_subjects", lambda *a: asked.append(a) or ["x"]
    )
    assert registry_refusal(world.st_lucia, ["", ""]) == "" and asked == []
