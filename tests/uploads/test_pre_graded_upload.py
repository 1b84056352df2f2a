"""Pre-graded sets: a toggle on the upload form for data managers and admins; their images are
stored as pre-graded (and so locked for pixel edits)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fundushub.audit.models import AuditEvent
from fundushub.catalog.choices import NO_PREGRADED
from fundushub.store.models import GradingStatus, Image
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from tests.conftest import form_data, fundus_jpeg, run_worker, store_image


def upload(client, world, *seeds, headers=None, **fields):
    files = [SimpleUploadedFile(f"f{s}.jpg", fundus_jpeg(s), "image/jpeg") for s in seeds]
    data = {**form_data(world, **fields), "files": files}
    return client.post("/direct/upload", data, headers=headers or {})


def test_the_toggle_is_shown_to_data_managers_and_admins_only(client, world):
    for user, shown in ((world.mary, True), (world.root, True), (world.alice, False)):
        client.force_login(user)
        page = client.get("/direct/upload").content.decode()
        assert ('name="pre_graded"' in page) is shown, user
        assert ("Pre-graded set" in page) is shown


def test_a_pre_graded_upload_stores_pre_graded_images_end_to_end(client, world):
    client.force_login(world.mary)
    response = upload(client, world, 1, 2, pre_graded="1")
    assert response.status_code == 303
    job = UploadJob.objects.get()
    assert job.pre_graded is True
    run_worker()
    assert set(UploadItem.objects.values_list("state", flat=True)) == {ItemState.COMPLETED}
    statuses = set(Image.objects.values_list("grading_status", flat=True))
    assert statuses == {GradingStatus.PRE_GRADED}
    assert AuditEvent.objects.get(action="upload.job_created").data["pre_graded"] is True
    image = Image.objects.first()
    assert image.is_locked_for_editing


def test_the_browser_form_value_on_counts_as_checked(client, world):
    client.force_login(world.root)
    upload(
        client,
        world,
        3,
        lab_unit=world.outpatients.pk,
        hospital=world.northgate.pk,
        pre_graded="on",
    )
    run_worker()
    assert Image.objects.get().grading_status == GradingStatus.PRE_GRADED


def test_without_the_toggle_images_are_ungraded(client, world):
    client.force_login(world.mary)
    upload(client, world, 4)
    assert UploadJob.objects.get().pre_graded is False
    run_worker()
    assert Image.objects.get().grading_status == GradingStatus.UNGRADED


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_an_uploader_who_posts_pre_graded_is_refused_with_a_clear_message(client, world, accept):
    client.force_login(world.alice)
    response = upload(client, world, 5, pre_graded="1", headers={"Accept": accept})
    assert response.status_code == 400
    if accept == "application/json":
        assert response.json() == {"error": NO_PREGRADED}
    else:
        assert NO_PREGRADED in response.content.decode()
    assert not UploadJob.objects.exists()
    assert run_worker() == 0  # nothing was queued either


def test_an_uploaders_refused_files_are_not_left_in_staging(client, world, isolated_storage):
    client.force_login(world.alice)
    upload(client, world, 6, pre_graded="1")
    assert not any((isolated_storage / "staging").iterdir())


def test_a_duplicate_in_a_pre_graded_upload_keeps_the_stored_images_status(client, world):
    existing = store_image(world, 7)
    client.force_login(world.mary)
    upload(client, world, 7, 8, pre_graded="1")
    run_worker()
    assert UploadItem.objects.get(filename="f7.jpg").state == ItemState.DUPLICATE
    assert Image.objects.get(pk=existing.pk).grading_status == GradingStatus.UNGRADED
    assert Image.objects.exclude(pk=existing.pk).get().grading_status == GradingStatus.PRE_GRADED


def test_an_ungraded_upload_of_a_pre_graded_images_bytes_leaves_it_pre_graded(client, world):
    existing = store_image(world, 9, grading_status=GradingStatus.PRE_GRADED)
    client.force_login(world.mary)
    upload(client, world, 9)
    run_worker()
    assert UploadItem.objects.get().state == ItemState.DUPLICATE
    assert Image.objects.get(pk=existing.pk).grading_status == GradingStatus.PRE_GRADED
