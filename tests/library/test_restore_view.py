"""Restoring the original: the variant goes (unless shared), the original never changed."""

import hashlib
import json

import pytest

from fundushub.audit.models import AuditEvent
from fundushub.store import blobs
from fundushub.store.models import GradingStatus, Image
from tests.conftest import store_image

LOCKED = "Editing is not allowed for pre-graded or graded images"


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """Run what waits for the commit (removing the variant's files) when each request ends."""

    def run(request, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return request(*args, **kwargs)

    return run


def edited(client, commits, image, user, ops=None):
    client.force_login(user)
    response = commits(
        client.post,
        f"/direct/images/{image.id}/editor",
        json.dumps(ops or {"rotate": 90}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    image.refresh_from_db()
    return image


def restore(client, commits, image, **data):
    headers = {k: data.pop(k) for k in list(data) if k.startswith("HTTP_")}
    return commits(client.post, f"/direct/images/{image.id}/restore", data, **headers)


def original_intact(image) -> bool:
    with blobs.open_blob(image.original_key) as f:
        return hashlib.sha256(f.read()).hexdigest() == image.sha256


def test_restoring_removes_the_variant_and_its_files_and_keeps_the_original(client, world, commits):
    image = edited(client, commits, store_image(world, 1), world.alice)
    variant, thumb = image.edited_key, image.edited_thumbnail_key
    response = restore(client, commits, image)
    assert response.status_code == 303
    assert response["Location"] == f"/direct/images/{image.id}"
    image.refresh_from_db()
    assert not image.has_edit
    assert image.edit_operations == {} and image.edited_at is None and image.edited_by is None
    assert not blobs.exists(variant) and not blobs.exists(thumb)
    assert blobs.exists(image.original_key) and blobs.exists(image.thumbnail_key)
    assert original_intact(image)


def test_edit_re_edit_and_restore_never_change_the_originals_bytes(client, world, commits):
    image = store_image(world, 1)
    edited(client, commits, image, world.alice, {"rotate": 90})
    edited(client, commits, image, world.alice, {"crop": {"x": 0, "y": 0, "w": 10, "h": 10}})
    assert original_intact(image)
    restore(client, commits, image)
    assert original_intact(image)


def test_restoring_is_audited_with_what_was_removed(client, world, commits):
    image = edited(client, commits, store_image(world, 1), world.alice)
    sha = image.edited_sha256
    restore(client, commits, image, HTTP_USER_AGENT="RestoreTest/1")
    event = AuditEvent.objects.get(action="image.restored")
    assert event.object_id == str(image.id) and event.user == world.alice
    assert event.user_agent == "RestoreTest/1"
    assert event.data["before"]["edited_sha256"] == sha
    assert event.data["before"]["operations"]["rotate"] == 90
    assert event.data["after"] == {"edited_sha256": None}


def test_a_variant_another_image_shares_is_kept_on_restore(client, world, commits):
    a = edited(client, commits, store_image(world, 1), world.mary)
    b = store_image(world, 1, lab_unit=world.outpatients, user=world.bob)  # same bytes, Northgate
    b = edited(client, commits, b, world.bob)
    assert a.edited_sha256 == b.edited_sha256
    restore(client, commits, b)
    assert blobs.exists(a.edited_key) and blobs.exists(a.edited_thumbnail_key)
    client.force_login(world.mary)
    restore(client, commits, a)
    assert not blobs.exists(a.edited_key) and not blobs.exists(a.edited_thumbnail_key)


def test_a_thumbnail_that_is_also_an_originals_thumbnail_is_kept(client, world, commits):
    a = edited(client, commits, store_image(world, 1), world.alice)
    with blobs.open_blob(a.edited_key) as f:
        variant_bytes = f.read()
    b = store_image(world, data=variant_bytes)  # the variant, downloaded and uploaded again
    assert b.thumbnail_key == a.edited_thumbnail_key
    restore(client, commits, a)
    assert not blobs.exists(a.edited_key)
    assert blobs.exists(b.original_key) and blobs.exists(b.thumbnail_key)


def test_a_safe_next_is_followed_and_an_unsafe_one_ignored(client, world, commits):
    image = edited(client, commits, store_image(world, 1), world.alice)
    response = restore(client, commits, image, next="/direct/dashboard?page=2")
    assert response["Location"] == "/direct/dashboard?page=2"
    image = edited(client, commits, image, world.alice)
    response = restore(client, commits, image, next="https://evil.example/")
    assert response["Location"] == f"/direct/images/{image.id}"


def test_restoring_an_image_without_a_variant_changes_nothing(client, world, commits):
    image = store_image(world, 1)
    client.force_login(world.alice)
    response = restore(client, commits, image)
    assert response.status_code == 303
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["This image has no edited variant."]
    assert not AuditEvent.objects.filter(action="image.restored").exists()


@pytest.mark.parametrize("status", [GradingStatus.PRE_GRADED, GradingStatus.GRADED])
def test_restoring_is_refused_once_the_image_is_pre_graded_or_graded(
    client, world, commits, status
):
    image = edited(client, commits, store_image(world, 1), world.alice)
    Image.objects.filter(pk=image.pk).update(grading_status=status)
    response = restore(client, commits, image)
    assert response.status_code == 409
    assert LOCKED in response.content.decode()
    image.refresh_from_db()
    assert image.has_edit and blobs.exists(image.edited_key)
    assert not AuditEvent.objects.filter(action="image.restored").exists()


@pytest.mark.parametrize(
    "who, uploader, expected",
    [
        ("alice", "alice", 303),
        ("alice", "mary", 403),
        ("mary", "alice", 303),
        ("gina", "alice", 403),
        ("bob", "alice", 404),
        ("root", "alice", 404),
        ("sam", "alice", 404),  # another lab unit of her hospital
    ],
)
@pytest.mark.usefixtures("same_hospital_other_unit_user")
def test_restoring_is_scoped_by_role(client, world, commits, who, uploader, expected):
    image = edited(
        client, commits, store_image(world, 1, user=getattr(world, uploader)), world.mary
    )
    client.force_login(getattr(world, who))
    assert restore(client, commits, image).status_code == expected
    image.refresh_from_db()
    assert image.has_edit == (expected != 303)


def test_restore_takes_only_posts(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    assert client.get(f"/direct/images/{image.id}/restore").status_code == 405


def test_restore_needs_the_csrf_token(world):
    from django.test import Client

    image = store_image(world, 1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    assert client.post(f"/direct/images/{image.id}/restore").status_code == 403


def test_an_identical_variant_saved_while_another_is_released_keeps_its_files(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    from fundushub.library import variants
    from tests.conftest import fundus_jpeg

    data = fundus_jpeg(12)
    a = store_image(world, 12, data=data)
    b = store_image(world, 12, data=data, user=world.bob, lab_unit=world.outpatients)
    ops = json.dumps({"rotate": 90}).encode()
    variants.save_edit(a, ops, world.alice)
    sha = a.edited_sha256
    real = variants._update_or_refuse

    def a_is_restored_meanwhile(image, before, fields):
        if image.pk == b.pk:  # after b's files were written, before b's row points at them
            Image.objects.filter(pk=a.pk).update(edited_sha256="", edit_operations={})
            variants.release(sha)
        return real(image, before, fields)

    monkeypatch.setattr(variants, "_update_or_refuse", a_is_restored_meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        variants.save_edit(b, ops, world.bob)
    b.refresh_from_db()
    assert b.edited_sha256 == sha
    assert blobs.exists(b.edited_key) and blobs.exists(b.edited_thumbnail_key)
