"""POST /api/direct-upload/subjects: what the page shows in the file list before an upload is
sent, the subjects a pattern reads from the names, and those the registry does not know."""

import pytest
from django.test import Client

from fundushub.camera.models import Subject

URL = "/api/direct-upload/subjects"
NO_ACCESS = "You don't have access to this hospital (no lab unit of yours is in it)"


def ask(client, body, user=None):
    if user is not None:
        client.force_login(user)
    return client.post(URL, body, content_type="application/json")


@pytest.fixture
def alice(client, world):
    client.force_login(world.alice)
    return client


@pytest.fixture
def registry(world):
    for identifier in ("105-10-0989-3", "105-10-0989-4"):
        Subject.objects.create(subject_identifier=identifier, site=world.st_lucia)


def test_it_reads_the_subjects_from_the_names_with_the_servers_pattern(alice, world):
    names = ["105-10-0989-3_L.jpg", "IMG_0001.jpg"]
    body = ask(alice, {"hospital": world.st_lucia.pk, "names": names}).json()
    assert body["names"] == [
        {"subject": "105-10-0989-3", "error": ""},
        {"subject": "", "error": ""},
    ]
    assert body["registry"] is False and body["unknown"] == []
    assert body["hospital"] == "St Lucia"


def test_it_reads_them_with_the_pattern_it_is_sent(alice, world):
    body = ask(
        alice,
        {"hospital": world.st_lucia.pk, "pattern": r"^(?P<subject>P\d+)", "names": ["P7_x.jpg"]},
    ).json()
    assert body["pattern"] == r"^(?P<subject>P\d+)" and body["names"][0]["subject"] == "P7"


def test_it_says_which_subjects_the_registry_does_not_know(alice, world, registry):
    body = ask(
        alice,
        {
            "hospital": world.st_lucia.pk,
            "names": ["105-10-0989-3_L.jpg", "105-10-0989-9_R.jpg"],
            "subjects": ["105-10-0989-4", " X1 ", "X1"],
        },
    ).json()
    assert body["registry"] is True
    assert body["unknown"] == ["105-10-0989-9", "X1"]
    assert body["subjects"] == [{"subject": s, "error": ""} for s in ("105-10-0989-4", "X1", "X1")]


def test_an_identifier_that_is_not_valid_is_marked_and_not_looked_up(alice, world, registry):
    body = ask(alice, {"hospital": world.st_lucia.pk, "subjects": ["a b"]}).json()
    assert body["subjects"][0]["error"].startswith("The subject 'a b' is not a valid identifier")
    assert body["unknown"] == []


def test_a_name_that_gives_an_invalid_identifier_is_marked(alice, world):
    body = ask(
        alice,
        {"hospital": world.st_lucia.pk, "pattern": r"^(?P<subject>[^_]+)", "names": ["a b_L.jpg"]},
    ).json()
    assert body["names"] == [{"subject": "a b", "error": body["names"][0]["error"]}]
    assert "is not a valid identifier" in body["names"][0]["error"]


@pytest.mark.parametrize(
    "pattern, why", [("(", "not a valid regular expression"), ("(a+)+", "not a group")]
)
def test_a_pattern_it_cannot_use_is_a_400_that_says_why(alice, world, pattern, why):
    response = ask(alice, {"hospital": world.st_lucia.pk, "pattern": pattern, "names": ["a"]})
    assert response.status_code == 400
    assert response.json()["error"].startswith("The subject pattern cannot be used: ")
    assert why in response.json()["error"]


def test_a_bad_pattern_is_not_judged_when_there_are_no_names_to_read(alice, world):
    response = ask(alice, {"hospital": world.st_lucia.pk, "pattern": "(", "subjects": ["S1"]})
    assert response.status_code == 200


def test_another_hospitals_registry_is_a_403(alice, world):
    Subject.objects.create(subject_identifier="N1", site=world.northgate)
    response = ask(alice, {"hospital": world.northgate.pk, "subjects": ["N1"]})
    assert response.status_code == 403 and response.json() == {"error": NO_ACCESS}


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "hospital is required."),
        ({"hospital": "1"}, "hospital must be a whole number."),
        ({"hospital": 1, "names": "a.jpg"}, "names must be a list of strings."),
        ({"hospital": 1, "subjects": [1]}, "subjects must be a list of strings."),
        ({"hospital": 1, "names": ["x"] * 1001}, "names may hold at most 1000 items."),
        ({"hospital": 1, "names": ["x" * 256]}, "Each names item may be at most 255 characters."),
        ({"hospital": 1, "pattern": ["("]}, "pattern must be a string."),
    ],
)
def test_a_body_it_cannot_read_is_a_400_that_says_what_to_send(alice, world, body, message):
    response = ask(alice, body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert response.json()["error"].endswith('"names": [...], "subjects": [...]}.')


def test_it_needs_the_csrf_token_like_every_signed_in_post(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    assert ask(client, {"hospital": world.st_lucia.pk}).status_code == 403


def test_anonymous_callers_get_a_401(client, world):
    assert ask(client, {"hospital": world.st_lucia.pk}).status_code == 401


def test_it_only_answers_post(alice, world):
    assert alice.get(URL).status_code == 405
