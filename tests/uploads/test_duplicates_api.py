import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import form_data, fundus_jpeg, run_worker

URL = "/api/direct-upload/duplicates"
NO_ACCESS = "You don't have access to this hospital (no lab unit of yours is in it)"


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def store(client, world, data, user=None, **overrides):
    """Upload `data` through the form and let the worker store it."""
    client.force_login(user or world.alice)
    upload = SimpleUploadedFile("a.jpg", data, "image/jpeg")
    response = client.post("/direct/upload", {**form_data(world, **overrides), "files": [upload]})
    assert response.status_code == 303
    run_worker()


def store_at_northgate(client, world, data):
    store(
        client,
        world,
        data,
        user=world.bob,
        hospital=world.northgate.pk,
        lab_unit=world.outpatients.pk,
    )


def ask(client, user, hospital, hashes):
    client.force_login(user)
    return client.post(
        URL, {"hospital": hospital.pk, "md5": hashes}, content_type="application/json"
    )


def test_it_answers_with_the_md5s_already_stored_in_that_hospital(client, world):
    stored, new = fundus_jpeg(1), fundus_jpeg(2)
    store(client, world, stored)
    response = ask(client, world.alice, world.st_lucia, [md5(new), md5(stored)])
    assert response.status_code == 200
    assert response.json() == {"duplicates": [md5(stored)]}


def test_it_matches_md5s_written_in_capitals(client, world):
    stored = fundus_jpeg(1)
    store(client, world, stored)
    response = ask(client, world.alice, world.st_lucia, [md5(stored).upper()])
    assert response.json() == {"duplicates": [md5(stored)]}


def test_an_image_stored_by_a_colleague_in_the_same_hospital_counts(client, world):
    stored = fundus_jpeg(1)
    store(client, world, stored, user=world.mary, lab_unit=world.screening.pk)
    response = ask(client, world.alice, world.st_lucia, [md5(stored)])
    assert response.json() == {"duplicates": [md5(stored)]}


def test_an_identical_image_stored_in_another_hospital_is_not_revealed(client, world):
    elsewhere = fundus_jpeg(3)
    store_at_northgate(client, world, elsewhere)
    assert ask(client, world.bob, world.northgate, [md5(elsewhere)]).json() == {
        "duplicates": [md5(elsewhere)]
    }
    response = ask(client, world.alice, world.st_lucia, [md5(elsewhere)])
    assert response.status_code == 200
    assert response.json() == {"duplicates": []}


def test_nothing_stored_yet_means_no_duplicates(client, world):
    response = ask(client, world.alice, world.st_lucia, [md5(fundus_jpeg(4))])
    assert response.json() == {"duplicates": []}


def test_a_hospital_the_user_has_no_lab_unit_in_is_forbidden(client, world):
    elsewhere = fundus_jpeg(3)
    store_at_northgate(client, world, elsewhere)
    response = ask(client, world.alice, world.northgate, [md5(elsewhere)])
    assert response.status_code == 403
    assert response.json() == {"error": NO_ACCESS}


def test_admins_are_not_exempt_from_lab_unit_assignment(client, world):
    response = ask(client, world.root, world.st_lucia, [md5(fundus_jpeg(1))])
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b"{}",
        b'{"hospital": null, "md5": []}',
        b'{"hospital": "st lucia", "md5": []}',
        b'{"hospital": HOSPITAL, "md5": 5}',
        b'{"hospital": HOSPITAL, "md5": "0123456789abcdef0123456789abcdef"}',
    ],
    ids=[
        "empty",
        "not-json",
        "not-utf8",
        "a-list",
        "no-hospital",
        "null-hospital",
        "hospital-name",
        "md5-a-number",
        "md5-a-string",
    ],
)
def test_a_malformed_body_is_a_400(client, world, body):
    client.force_login(world.alice)
    body = body.replace(b"HOSPITAL", str(world.st_lucia.pk).encode())
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_csrf_is_enforced(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    body = json.dumps({"hospital": world.st_lucia.pk, "md5": []})
    assert client.post(URL, body, content_type="application/json").status_code == 403


def test_the_csrf_token_from_the_upload_form_lets_the_browser_ask(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    client.get("/direct/upload")
    token = client.cookies["csrftoken"].value
    body = json.dumps({"hospital": world.st_lucia.pk, "md5": []})
    response = client.post(URL, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and response.json() == {"duplicates": []}


def test_anonymous_callers_get_a_401_in_json(client, world):
    response = client.post(
        URL, {"hospital": world.st_lucia.pk, "md5": []}, content_type="application/json"
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required"}


def test_it_only_answers_post(client, world):
    client.force_login(world.alice)
    assert client.get(URL).status_code == 405


# Hostile bodies: each is a 400 whose message says what is wrong, never a 500.
HOSTILE_BODIES = [
    (b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
    (b'{"hospital": 1, "md5": ' + b"[" * 40 + b"]" * 40 + b"}", "nested too deeply"),
    (b'{"hospital": 1e999, "md5": []}', "out of range"),
    (b'{"hospital": 1180591620717411303424, "md5": []}', "out of range"),
    (b'{"hospital": 9223372036854775808, "md5": []}', "out of range"),
    (b'{"hospital": -1, "md5": []}', "hospital must be from 1"),
    (b'{"hospital": 0, "md5": []}', "hospital must be from 1"),
    (b'{"hospital": NaN, "md5": []}', "NaN is not a number"),
    (b'{"hospital": 1.5, "md5": []}', "hospital must be a whole number"),
    (b'{"hospital": true, "md5": []}', "hospital must be a whole number"),
    (b'{"hospital": "1", "md5": []}', "hospital must be a whole number"),
    (b'{"hospital": [1], "md5": []}', "hospital must be a whole number"),
    (b'{"md5": []}', "hospital is required"),
    (b'{"hospital": 1, "md5": [1]}', "md5 must be a list of strings"),
    (b'{"hospital": 1, "md5": [["0123456789abcdef0123456789abcdef"]]}', "list of strings"),
    (b'{"hospital": 1, "md5": ["not-a-hash"]}', "32 hexadecimal characters"),
    (b'{"hospital": 1, "md5": ["' + b"a" * 33 + b'"]}', "at most 32 characters"),
    (b'{"hospital": 1, "md5": ["\\u0000"]}', "NUL"),
    (b'{"hospital": 1, "md5": ["\\udfff"]}', "lone surrogate"),
    (b'"hospital"', "must be a JSON object"),
    (b"null", "must be a JSON object"),
    (b"42", "must be a JSON object"),
    (b"", "empty"),
    (b'{"hospital": 1, "note": "' + b"x" * 70_000 + b'"}', "too large"),
]


@pytest.mark.parametrize("body, message", HOSTILE_BODIES, ids=[m for _, m in HOSTILE_BODIES])
def test_a_hostile_body_is_a_400_that_says_why(client, world, body, message):
    client.force_login(world.alice)
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert message in error
    assert error.endswith('Send {"hospital": id, "md5": [hex, ...]}.')


def test_more_than_a_thousand_md5s_are_refused(client, world):
    client.force_login(world.alice)
    body = {"hospital": world.st_lucia.pk, "md5": ["a" * 32] * 1001}
    response = client.post(
        URL, json.dumps(body, separators=(",", ":")), content_type="application/json"
    )
    assert response.status_code == 400
    assert "at most 1000 items" in response.json()["error"]


def test_the_largest_id_a_database_holds_is_an_answer_not_a_crash(client, world):
    client.force_login(world.alice)
    body = {"hospital": 2**63 - 1, "md5": []}
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 403
