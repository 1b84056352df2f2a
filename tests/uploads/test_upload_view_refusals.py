"""POST /direct/upload refused: nothing the request sent stays in the staging folder.

Each test prints its kind and the files left behind (the issue's probe figure); run with -s.
"""

import base64

import pytest
from django.test import Client

from fundushub.store import streaming
from fundushub.uploads.models import UploadJob
from tests import multipart
from tests.conftest import form_data, fundus_jpeg

URL = "/direct/upload"


def leftovers(media_root) -> list:
    return sorted(p.name for p in (media_root / "staging").rglob("*") if p.is_file())


def report(kind, media_root):
    left = leftovers(media_root)
    print(f"staged files left after {kind}: {len(left)}")
    return left


def form_fields(world, **overrides) -> list[bytes]:
    return [multipart.field(k, str(v)) for k, v in form_data(world, **overrides).items()]


def post_raw(client, raw: bytes, **headers):
    return client.post(URL, data=raw, content_type=multipart.CONTENT_TYPE, **headers)


@pytest.fixture
def alice(client, world):
    client.force_login(world.alice)
    return client


@pytest.fixture
def strict(world):
    """A client that checks CSRF as a browser's requests are checked."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    client.get(URL)  # the form sets the CSRF cookie
    return client


def test_it_refuses_a_post_without_a_csrf_token_and_keeps_nothing(strict, world, isolated_storage):
    raw = multipart.body(*form_fields(world), multipart.file("files", "a.jpg", fundus_jpeg(1)))
    response = post_raw(strict, raw)
    assert response.status_code == 403
    assert report("a missing CSRF token (403)", isolated_storage) == []
    assert not UploadJob.objects.exists()


def test_it_refuses_a_wrong_csrf_token_in_the_form_before_staging_a_byte(
    strict, world, isolated_storage, monkeypatch
):
    opened, writer = [], streaming.blobs.writer
    monkeypatch.setattr(streaming.blobs, "writer", lambda key: opened.append(key) or writer(key))
    raw = multipart.body(
        multipart.field("csrfmiddlewaretoken", "x" * 64),
        *form_fields(world),
        multipart.file("files", "a.jpg", fundus_jpeg(1)),
    )
    response = post_raw(strict, raw)
    assert response.status_code == 403
    assert report("a wrong CSRF token in the form (403)", isolated_storage) == []
    assert opened == []


def broken_base64_file(name="b.jpg") -> bytes:
    """A file part whose base64 is cut short: the parser fails when it reaches the end."""
    head = (
        f"--{multipart.BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    return head + base64.b64encode(fundus_jpeg(2))[:-3] + b"\r\n"


def test_it_checks_the_csrf_header_before_reading_the_body(strict, world, isolated_storage):
    # A body that fails to parse: answering 403 (not 400) shows it was never read.
    raw = multipart.body(*form_fields(world), broken_base64_file())
    response = post_raw(strict, raw, HTTP_X_CSRFTOKEN="y" * 64)
    assert response.status_code == 403
    assert report("a wrong CSRF header (403)", isolated_storage) == []


def test_it_accepts_the_csrf_token_the_form_sends_before_its_files(strict, world, isolated_storage):
    token = strict.cookies["csrftoken"].value
    raw = multipart.body(
        multipart.field("csrfmiddlewaretoken", token),
        *form_fields(world),
        multipart.file("files", "a.jpg", fundus_jpeg(1)),
    )
    response = post_raw(strict, raw)
    assert response.status_code == 303
    assert UploadJob.objects.get().items.get().staged_key


def test_it_accepts_the_csrf_header_the_page_sends(strict, world, isolated_storage):
    token = strict.cookies["csrftoken"].value
    raw = multipart.body(*form_fields(world), multipart.file("files", "a.jpg", fundus_jpeg(1)))
    response = post_raw(strict, raw, HTTP_X_CSRFTOKEN=token, HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    assert len(leftovers(isolated_storage)) == 1  # the job's file, waiting for the worker


def test_it_keeps_nothing_when_the_body_breaks_mid_file(alice, world, isolated_storage):
    # The first file is complete and staged; the second's base64 is cut short.
    raw = multipart.body(
        *form_fields(world), multipart.file("files", "a.jpg", fundus_jpeg(1)), broken_base64_file()
    )
    response = post_raw(alice, raw)
    assert response.status_code == 400
    assert report("a parser error mid-body (400)", isolated_storage) == []
    assert not UploadJob.objects.exists()


def test_it_keeps_nothing_when_more_than_10000_fields_follow_a_file(alice, world, isolated_storage):
    fields = [multipart.field(f"f{i}", "1") for i in range(10_010)]
    raw = multipart.body(
        *form_fields(world), multipart.file("files", "a.jpg", fundus_jpeg(1)), *fields
    )
    response = post_raw(alice, raw)
    assert response.status_code == 400
    assert report("more than 10,000 fields (400)", isolated_storage) == []


def test_it_keeps_nothing_of_files_sent_under_another_field_name(alice, world, isolated_storage):
    raw = multipart.body(*form_fields(world), multipart.file("photos", "a.jpg", fundus_jpeg(1)))
    response = post_raw(alice, raw)
    assert response.status_code == 400
    assert report("files under another field name (400)", isolated_storage) == []


def test_it_stores_the_files_field_and_drops_the_others(alice, world, isolated_storage):
    raw = multipart.body(
        *form_fields(world),
        multipart.file("photos", "other.jpg", fundus_jpeg(2)),
        multipart.file("files", "a.jpg", fundus_jpeg(1)),
    )
    response = post_raw(alice, raw)
    assert response.status_code == 303
    item = UploadJob.objects.get().items.get()
    assert item.filename == "a.jpg"
    assert leftovers(isolated_storage) == [item.staged_key.rsplit("/", 1)[-1]]


def test_it_keeps_nothing_when_the_form_is_incomplete(alice, world, isolated_storage):
    raw = multipart.body(
        *form_fields(world, camera=None), multipart.file("files", "a.jpg", fundus_jpeg(1))
    )
    response = post_raw(alice, raw)
    assert response.status_code == 400
    assert report("an incomplete form (400)", isolated_storage) == []


def test_it_keeps_nothing_when_creating_the_job_fails(alice, world, isolated_storage, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("fundushub.uploads.views.create_job", broken)
    raw = multipart.body(*form_fields(world), multipart.file("files", "a.jpg", fundus_jpeg(1)))
    with pytest.raises(RuntimeError):
        post_raw(alice, raw)
    assert report("a failure while creating the job (500)", isolated_storage) == []
