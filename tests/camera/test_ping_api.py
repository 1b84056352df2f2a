"""GET ping/ and the authentication rules every camera endpoint shares."""

import pytest

from fundushub.camera.models import CameraDevice
from tests.camera.conftest import BASE, api

PING = f"{BASE}/ping/"


def assert_401(response):
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"]


def test_ping_answers_ok_to_a_device_token(cam):
    response = api(cam.token).get(PING)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ping_answers_ok_to_a_device_of_another_hospital(cam):
    response = api(cam.other_token).get(PING)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ping_without_a_token_is_401_with_the_token_challenge(cam):
    assert_401(api(None).get(PING))


def test_ping_with_an_unknown_token_is_401(cam):
    assert_401(api("0" * 40).get(PING))


def test_ping_with_an_empty_token_is_401(cam):
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION="Token ")
    assert_401(client.get(PING))


def test_a_valid_key_sent_as_bearer_is_not_accepted(cam):
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {cam.token}")
    assert_401(client.get(PING))


def test_a_signed_in_web_user_without_a_token_is_401(cam, client):
    client.force_login(cam.root)
    response = client.get(PING)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_token_of_a_deactivated_device_user_is_401(cam):
    user = cam.device.user
    user.is_active = False
    user.save()
    assert_401(api(cam.token).get(PING))


@pytest.mark.parametrize(
    "method, url, payload",
    [
        ("post", f"{BASE}/resolve/", {"subject_identifier": "999-unknown"}),
        ("post", f"{BASE}/resolve/", {}),
        ("post", f"{BASE}/resolve/", {"subject_identifier": "x" * 80}),
        ("post", f"{BASE}/105-10-0989-3/middle/", {}),
        ("post", f"{BASE}/999-unknown/left/", {}),
        ("post", f"{BASE}/105-10-0989-3/left/?session_id=not-a-uuid", {}),
        ("get", f"{BASE}/999-unknown/status/", None),
        ("get", f"{BASE}/105-10-0989-3/status/?session_id=not-a-uuid", None),
    ],
)
@pytest.mark.parametrize("token", [None, "bad-token"])
def test_401_wins_over_every_other_error(cam, method, url, payload, token):
    client = api(token)
    if method == "post":
        response = client.post(url, payload, format="json" if "resolve" in url else "multipart")
    else:
        response = client.get(url)
    assert_401(response)


def test_401_wins_over_a_body_that_is_not_json(cam):
    response = api(None).generic(
        "POST", f"{BASE}/resolve/", b"{not json", content_type="application/json"
    )
    assert_401(response)


def test_a_device_row_without_a_token_cannot_be_signed_in_to(cam):
    CameraDevice.objects.filter(pk=cam.device.pk).update(token_hash=None)
    assert_401(api(cam.token).get(PING))
