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
