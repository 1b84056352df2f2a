"""Deleting images: rows, files on disk (only those nothing else uses), quota, audit."""

import hashlib
import io

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from fundushub.audit.models import AuditEvent
from fundushub.camera.models import CameraFile, CameraSession, Subject
from fundushub.grading.models import Grade
from fundushub.library.deletion import DeletionRefused, delete_images
from fundushub.store import blobs
from fundushub.store.models import Image
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from tests.conftest import fundus_png, store_image

URL = reverse("images-bulk")


def delete(client, images, **headers):
    ids = [str(i.pk) for i in images]
    data = {"images": ids, "action": "delete", "confirm": "1", "next": "/"}
    return client.post(URL, data, **headers)


def on_disk(media, key):
    return (media / key).is_file()


def add_edit(image, seed=7):
    """Give the image an edited variant (lossless bytes + thumbnail), as the editor does."""
    data = fundus_png(seed)
    sha = hashlib.sha256(data).hexdigest()
    blobs.write_bytes(blobs.edited_key(sha), data)
    blobs.write_bytes(blobs.thumbnail_key(sha), b"edited thumbnail")
    Image.objects.filter(pk=image.pk).update(edited_sha256=sha, edited_at=timezone.now())
    return Image.objects.get(pk=image.pk)


def keys_of(image):
    return [image.original_key, image.thumbnail_key, image.edited_key, image.edited_thumbnail_key]


def job_of(world, user, lab_unit):
    return UploadJob.objects.create(
        user=user,
        hospital_id=lab_unit.hospital_id,
        lab_unit=lab_unit,
        camera=world.topcon,
        disease=world.dr,
        area=world.left,
    )


def camera_file_for(world, image):
    subject = Subject.objects.create(subject_identifier="105-1", site=world.st_lucia)
    session = CameraSession.objects.create(subject=subject, hospital=world.st_lucia)
    return CameraFile.objects.create(
        session=session,
        file_type="left",
        original_filename="left.jpg",
        size=image.size,
        sha256=image.sha256,
        md5=image.md5,
        mime="image/jpeg",
        capture_datetime=timezone.now(),
        image_state="stored",
        image=image,
    )


def test_a_confirmed_delete_removes_the_row_original_edited_variant_and_thumbnails(
    client, world, isolated_storage, django_capture_on_commit_callbacks
):
    image = add_edit(store_image(world, 1))
    keys = keys_of(image)
    assert all(on_disk(isolated_storage, k) for k in keys)
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert delete(client, [image]).status_code == 303
    assert not Image.objects.filter(pk=image.pk).exists()
    assert [k for k in keys if on_disk(isolated_storage, k)] == []


def test_files_are_removed_only_after_the_rows_are_committed(
    client, world, isolated_storage, django_capture_on_commit_callbacks
):
    image = store_image(world, 1)
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delete(client, [image])
    assert not Image.objects.exists()
    assert on_disk(isolated_storage, image.original_key)  # still there until the commit
    for callback in callbacks:
        callback()
    assert not on_disk(isolated_storage, image.original_key)


def test_a_crash_before_the_files_go_leaves_orphans_that_the_sweep_removes(
    client, world, isolated_storage, django_capture_on_commit_callbacks
):
    image = add_edit(store_image(world, 1))
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=False):
        delete(client, [image])  # the process "dies" before its after-commit work
    assert all(on_disk(isolated_storage, k) for k in keys_of(image))
    call_command("sweep_storage", "--grace-minutes", "0", stdout=io.StringIO())
    assert [k for k in keys_of(image) if on_disk(isolated_storage, k)] == []


def test_a_blob_shared_with_another_hospitals_image_is_kept(
    client, world, isolated_storage, django_capture_on_commit_callbacks
):
    image = store_image(world, 1)
    other = store_image(world, 1, user=world.bob, lab_unit=world.outpatients)
    assert other.pk != image.pk and other.sha256 == image.sha256
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        delete(client, [image])
    assert on_disk(isolated_storage, image.original_key)
    assert on_disk(isolated_storage, image.thumbnail_key)
    with blobs.open_blob(other.original_key) as f:
        assert hashlib.sha256(f.read()).hexdigest() == other.sha256


def test_a_camera_files_blob_is_kept_as_the_examinations_archive(
    client, world, isolated_storage, django_capture_on_commit_callbacks
):
    image = store_image(world, 1, source="camera")
    camera_file = camera_file_for(world, image)
    client.force_login(world.mary)
    with django_capture_on_commit_callbacks(execute=True):
        delete(client, [image])
    assert on_disk(isolated_storage, image.original_key)
    assert not on_disk(isolated_storage, image.thumbnail_key)
    camera_file.refresh_from_db()
    assert camera_file.image is None


def test_an_edited_variant_shared_with_another_image_is_kept(
    client, world, isolated_storage, django_capture_on_commit_callbacks
):
    image = add_edit(store_image(world, 1), seed=7)
    other = add_edit(store_image(world, 2), seed=7)  # the same edit result, byte for byte
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        delete(client, [image])
    assert on_disk(isolated_storage, other.edited_key)
    assert on_disk(isolated_storage, other.edited_thumbnail_key)
    assert not on_disk(isolated_storage, image.original_key)


def test_the_blob_of_an_upload_still_in_progress_is_kept(
    client, world, isolated_storage, django_capture_on_commit_callbacks
):
    image = store_image(world, 1)
    job = job_of(world, world.bob, world.outpatients)
    UploadItem.objects.create(
        job=job, position=0, filename="again.jpg", sha256=image.sha256, state=ItemState.QUEUED
    )
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        delete(client, [image])
    assert on_disk(isolated_storage, image.original_key)


def test_upload_items_keep_their_record_without_the_image(
    client, world, django_capture_on_commit_callbacks
):
    image = store_image(world, 1)
    job = job_of(world, world.alice, world.retina)
    item = UploadItem.objects.create(
        job=job, position=0, filename="a.jpg", state=ItemState.COMPLETED, image=image
    )
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        delete(client, [image])
    item.refresh_from_db()
    assert item.image is None and item.state == ItemState.COMPLETED


def test_deleting_direct_uploads_gives_the_uploaders_quota_back(client, world):
    mine = [store_image(world, i) for i in (1, 2)]
    bobs = store_image(world, 3, user=world.bob)  # bob's upload into Retina (he moved units)
    type(world.alice).objects.filter(pk=world.alice.pk).update(file_upload_count=5)
    type(world.bob).objects.filter(pk=world.bob.pk).update(file_upload_count=4)
    client.force_login(world.mary)
    delete(client, [*mine, bobs])
    world.alice.refresh_from_db()
    world.bob.refresh_from_db()
    assert (world.alice.file_upload_count, world.bob.file_upload_count) == (3, 3)


def test_the_quota_count_never_goes_below_zero(client, world):
    images = [store_image(world, i) for i in (1, 2)]
    type(world.alice).objects.filter(pk=world.alice.pk).update(file_upload_count=1)
    client.force_login(world.alice)
    delete(client, images)
    world.alice.refresh_from_db()
    assert world.alice.file_upload_count == 0


def test_camera_images_count_against_nobodys_quota(client, world):
    image = store_image(world, 1, source="camera", user=world.alice)
    type(world.alice).objects.filter(pk=world.alice.pk).update(file_upload_count=5)
    client.force_login(world.mary)
    delete(client, [image])
    world.alice.refresh_from_db()
    assert world.alice.file_upload_count == 5


def test_every_deletion_is_audited(client, world):
    images = [store_image(world, i) for i in (1, 2)]
    client.force_login(world.alice)
    delete(client, images, HTTP_USER_AGENT="pytest-browser")
    deleted = {e.object_id: e for e in AuditEvent.objects.filter(action="image.deleted")}
    assert set(deleted) == {str(i.pk) for i in images}
    event = deleted[str(images[0].pk)]
    assert event.user == world.alice and event.user_agent == "pytest-browser"
    assert event.data == {
        "filename": "fundus-1.jpg",
        "sha256": images[0].sha256,
        "md5": images[0].md5,
        "edited_sha256": "",
        "hospital": {"id": world.st_lucia.pk, "name": "St Lucia"},
        "lab_unit": {"id": world.retina.pk, "name": "Retina"},
        "uploader": {"id": world.alice.pk, "username": "alice"},
        "source": "direct",
        "grading_status": "ungraded",
    }
    (summary,) = AuditEvent.objects.filter(action="images.bulk_deleted")
    assert set(summary.data["images"]) == {str(i.pk) for i in images}
    assert summary.data["count"] == 2


def test_an_image_with_grades_but_not_marked_graded_is_refused_not_a_500(world):
    image = store_image(world, 1)
    Grade.objects.create(image=image, revision=1, disease=world.dr, grade="R0")
    request = RequestFactory().post(URL)
    request.user = world.mary
    with pytest.raises(DeletionRefused, match="have grades and cannot be deleted"):
        delete_images(request, [image.pk])
    assert Image.objects.filter(pk=image.pk).exists()
    assert not AuditEvent.objects.filter(action="image.deleted").exists()


def test_a_grade_recorded_after_the_confirmation_page_still_refuses(world):
    image = store_image(world, 1)
    Image.objects.filter(pk=image.pk).update(grading_status="graded")  # since the page was shown
    request = RequestFactory().post(URL)
    request.user = world.mary
    with pytest.raises(DeletionRefused, match="Graded images cannot be deleted: fundus-1.jpg"):
        delete_images(request, [image.pk])


def test_an_old_orphan_left_by_someone_else_is_not_touched(
    client, world, isolated_storage, django_capture_on_commit_callbacks
):
    image = store_image(world, 1)
    stray = blobs.original_key("ab" * 32)
    blobs.write_bytes(stray, b"not ours")
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        delete(client, [image])
    assert on_disk(isolated_storage, stray)  # only the deleted rows' blobs are candidates


def test_an_upload_of_the_same_bytes_finishing_during_the_file_removal_keeps_its_blob(
    client, world, monkeypatch
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fundushub.library import deletion
    from fundushub.store import references
    from fundushub.uploads.ingest import process_item
    from fundushub.uploads.tasks import claim_next
    from tests.conftest import form_data, fundus_jpeg

    data = fundus_jpeg(11)
    image = store_image(world, 11, data=data)
    client.force_login(world.bob)  # the same bytes, uploaded to another hospital
    fields = form_data(world, hospital=world.northgate.pk, lab_unit=world.outpatients.pk)
    client.post("/direct/upload", {**fields, "files": [SimpleUploadedFile("b.jpg", data)]})
    item = claim_next(UploadJob.objects.get().id)
    real, finished = references._stored, []

    def worker_finishes_between_the_lookups(kind, shas):
        # After the ways in answered (the item was still pending), before the store's own rows.
        if not finished:
            finished.append(process_item(item))
        return real(kind, shas)

    callbacks = []
    monkeypatch.setattr(references, "_stored", worker_finishes_between_the_lookups)
    monkeypatch.setattr(
        deletion.transaction, "on_commit", lambda func, *a, **kw: callbacks.append(func)
    )
    request = RequestFactory().post(URL)
    request.user = world.alice
    delete_images(request, [image.pk])
    callbacks[0]()
    assert finished == [ItemState.COMPLETED]
    new = Image.objects.get(hospital=world.northgate)
    assert blobs.exists(new.original_key) and blobs.exists(new.thumbnail_key)
