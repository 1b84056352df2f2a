"""POST <subject>/<file_type>/ refused: nothing the request sent stays in the staging folder.

Each test prints its kind and the files left behind (the issue's probe figure); run with -s.
"""

import base64

import pytest

from tests import multipart
from tests.camera.conftest import BASE, SENT_AT, api, resolve, staged_leftovers
from tests.conftest import fundus_jpeg

URL = f"{BASE}/105-10-0989-3/left/"


def report(kind, media_root):
    left = staged_leftovers(media_root)
    print(f"staged files left after {kind}: {len(left)}")
    return left


def post_raw(client, raw: bytes, url=URL):
    return client.post(url, data=raw, content_type=multipart.CONTENT_TYPE)


@pytest.fixture
def camera(cam):
    client = api(cam.token)
    assert resolve(client).status_code == 200
    return client


def test_it_keeps_nothing_sent_with_a_wrong_token(cam, isolated_storage):
    raw = multipart.body(multipart.file("file", "left.jpg", fundus_jpeg(1)))
    response = post_raw(api("not-a-token"), raw)
    assert response.status_code == 401
    assert report("a wrong camera token (401)", isolated_storage) == []


def test_it_refuses_two_file_parts_and_keeps_neither(camera, isolated_storage):
    raw = multipart.body(
        multipart.field("capture_datetime", SENT_AT),
        multipart.file("file", "left.jpg", fundus_jpeg(1)),
        multipart.file("file", "left2.jpg", fundus_jpeg(2)),
    )
    response = post_raw(camera, raw)
    assert response.status_code == 400
    assert response.json() == {"file": ["Send one file per request."]}
    assert report("two file parts on a camera upload (400)", isolated_storage) == []


def test_it_keeps_nothing_of_a_file_sent_under_another_field_name(camera, isolated_storage):
    raw = multipart.body(multipart.file("image", "left.jpg", fundus_jpeg(1)))
    response = post_raw(camera, raw)
    assert response.status_code == 400
    assert response.json() == {"file": ["No file was submitted."]}
    assert report("a file under another field name (400)", isolated_storage) == []


def test_it_keeps_nothing_when_the_body_breaks_mid_file(camera, isolated_storage):
    head = (
        f"--{multipart.BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="left.jpg"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    raw = multipart.body(head + base64.b64encode(fundus_jpeg(2))[:-3] + b"\r\n")
    response = post_raw(camera, raw)
    assert response.status_code == 400
    assert report("a parser error mid-body on a camera upload (400)", isolated_storage) == []


def test_it_keeps_nothing_when_more_than_10000_fields_follow_the_file(camera, isolated_storage):
    fields = [multipart.field(f"f{i}", "1") for i in range(10_010)]
    raw = multipart.body(multipart.file("file", "left.jpg", fundus_jpeg(1)), *fields)
    response = post_raw(camera, raw)
    assert response.status_code == 400
    assert report("more than 10,000 fields on a camera upload (400)", isolated_storage) == []


def test_it_keeps_nothing_when_no_session_takes_the_file(cam, isolated_storage):
    raw = multipart.body(multipart.file("file", "left.jpg", fundus_jpeg(1)))
    response = post_raw(api(cam.token), raw, url=f"{BASE}/205-20-0001-1/left/")
    assert response.status_code == 404
    assert report("no session for the subject (404)", isolated_storage) == []
