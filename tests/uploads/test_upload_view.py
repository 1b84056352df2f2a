import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fundushub.store.models import Image
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from tests.conftest import form_data, fundus_jpeg, fundus_png, noisy_jpeg, run_worker

URL = "/direct/upload"


def jpg(name, data=None, seed=0):
    return SimpleUploadedFile(name, data if data is not None else fundus_jpeg(seed), "image/jpeg")


def post(client, world, files, **overrides):
    return client.post(URL, {**form_data(world, **overrides), "files": files})


def items_of(job):
    return list(job.items.order_by("position"))


def test_the_form_shows_only_the_users_hospitals_as_pills(client, world):
    client.force_login(world.alice)
    body = client.get(URL).content.decode()
    assert "St Lucia" in body and "Northgate" not in body
    assert 'class="pill"' in body


def test_it_redirects_to_the_processing_page_with_303(client, world):
    client.force_login(world.alice)
    response = post(client, world, [jpg("a.jpg")])
    job = UploadJob.objects.get()
    assert response.status_code == 303
    assert response["Location"] == reverse("upload-processing", args=[job.id])


def test_it_stores_a_jpeg_in_the_background_not_in_the_request(client, world):
    client.force_login(world.alice)
    post(client, world, [jpg("a.jpg")])
    item = UploadItem.objects.get()
    assert item.state == ItemState.QUEUED and not Image.objects.exists()
    run_worker()
    item.refresh_from_db()
    assert item.state == ItemState.COMPLETED
    image = item.image
    assert image.hospital == world.st_lucia and image.lab_unit == world.retina
    assert image.original_filename == "a.jpg" and image.content_type == "image/jpeg"


def test_it_accepts_a_png_renamed_to_jpg_as_the_png_it_is(client, world):
    client.force_login(world.alice)
    post(client, world, [jpg("photo.jpg", fundus_png())])
    run_worker()
    item = UploadItem.objects.get()
    assert item.state == ItemState.COMPLETED
    assert item.image.content_type == "image/png"


def test_it_rejects_a_text_file_renamed_to_jpg(client, world):
    client.force_login(world.alice)
    post(client, world, [jpg("notes.jpg", b"just some text, not an image\n")])
    item = UploadItem.objects.get()
    assert item.state == ItemState.ERROR
    assert item.detail == "Invalid file type: text/plain. Only JPG/PNG allowed."


def test_it_rejects_a_truncated_jpeg_as_corrupt(client, world):
    client.force_login(world.alice)
    data = fundus_jpeg(1)
    post(client, world, [jpg("cut.jpg", data[: len(data) * 2 // 3])])
    run_worker()
    item = UploadItem.objects.get()
    assert item.state == ItemState.ERROR
    assert item.detail.startswith("Corrupt or unreadable image")
    assert not Image.objects.exists()


def test_it_rejects_a_file_over_the_size_limit_without_storing_it(client, world, settings):
    settings.DIRECT_UPLOAD_MAX_FILE_SIZE_MB = 1
    client.force_login(world.alice)
    big = noisy_jpeg(2)
    assert len(big) > 1024 * 1024
    post(client, world, [jpg("big.jpg", big), jpg("small.jpg")])
    big_item, small_item = items_of(UploadJob.objects.get())
    assert big_item.state == ItemState.ERROR
    assert big_item.detail == "File too large (max 1MB)"
    assert big_item.staged_key == ""
    assert small_item.state == ItemState.QUEUED


def test_the_size_message_matches_the_document_by_default(client, world):
    from fundushub.accounts.limits import current_limits

    assert current_limits().max_file_size_mb == 5
    client.force_login(world.alice)
    # 5 MB plus one byte of a real JPEG prefix: the limit, not the content, decides.
    over = fundus_jpeg(3) + b"\0" * (5 * 1024 * 1024)
    post(client, world, [jpg("over.jpg", over)])
    assert UploadItem.objects.get().detail == "File too large (max 5MB)"


def test_files_beyond_the_per_upload_cap_are_rejected_visibly(client, world, settings):
    settings.DIRECT_UPLOAD_MAX_FILES = 2
    client.force_login(world.alice)
    post(client, world, [jpg(f"{i}.jpg", seed=i) for i in range(3)])
    items = items_of(UploadJob.objects.get())
    assert [i.state for i in items] == [ItemState.QUEUED, ItemState.QUEUED, ItemState.ERROR]
    assert items[2].detail == "Too many files (max 2 per upload)"
    assert items[2].filename == "2.jpg"


def test_a_runtime_limit_set_by_an_admin_wins_over_the_setting(client, world, settings):
    from fundushub.accounts.models import UploadLimits

    settings.DIRECT_UPLOAD_MAX_FILES = 100
    UploadLimits.objects.create(max_files=1)
    client.force_login(world.alice)
    post(client, world, [jpg("a.jpg", seed=1), jpg("b.jpg", seed=2)])
    assert [i.state for i in items_of(UploadJob.objects.get())] == [
        ItemState.QUEUED,
        ItemState.ERROR,
    ]


def test_the_quota_is_checked_per_file_inside_one_batch(client, world):
    world.alice.upload_quota = 50
    world.alice.file_upload_count = 49
    world.alice.save()
    client.force_login(world.alice)
    post(client, world, [jpg(f"{i}.jpg", seed=i) for i in range(10)])
    run_worker()
    items = items_of(UploadJob.objects.get())
    assert [i.state for i in items].count(ItemState.COMPLETED) == 1
    assert [i.detail for i in items[1:]] == ["Upload quota exceeded"] * 9
    world.alice.refresh_from_db()
    assert world.alice.file_upload_count == 50


def test_the_default_quota_for_a_new_account_is_fifty(world):
    assert world.alice.effective_quota() == 50


def test_a_quota_of_zero_means_unlimited(client, world):
    world.alice.upload_quota = 0
    world.alice.file_upload_count = 10_000
    world.alice.save()
    client.force_login(world.alice)
    post(client, world, [jpg("a.jpg")])
    run_worker()
    assert UploadItem.objects.get().state == ItemState.COMPLETED


def test_the_same_file_twice_in_one_batch_is_stored_once(client, world):
    client.force_login(world.alice)
    data = fundus_jpeg(7)
    post(client, world, [jpg("a.jpg", data), jpg("copy of a.jpg", data)])
    run_worker()
    first, second = items_of(UploadJob.objects.get())
    assert first.state == ItemState.COMPLETED
    assert second.state == ItemState.DUPLICATE and second.detail == "Duplicate file"
    assert second.image_id == first.image_id
    assert Image.objects.count() == 1
    world.alice.refresh_from_db()
    assert world.alice.file_upload_count == 1


def test_the_same_file_in_a_later_batch_is_a_duplicate_and_the_job_is_done(client, world):
    client.force_login(world.alice)
    data = fundus_jpeg(8)
    post(client, world, [jpg("a.jpg", data)])
    run_worker()
    post(client, world, [jpg("again.jpg", data)])
    run_worker()
    job = UploadJob.objects.order_by("created_at").last()
    assert items_of(job)[0].state == ItemState.DUPLICATE
    from fundushub.uploads.summary import job_summary

    assert job_summary(job)["status"] == "done"


def test_identical_bytes_in_another_hospital_are_stored_for_that_hospital(client, world):
    data = fundus_jpeg(9)
    client.force_login(world.alice)
    post(client, world, [jpg("a.jpg", data)])
    client.force_login(world.bob)
    post(
        client,
        world,
        [jpg("b.jpg", data)],
        hospital=world.northgate.pk,
        lab_unit=world.outpatients.pk,
    )
    run_worker()
    assert Image.objects.count() == 2
    assert {i.state for i in UploadItem.objects.all()} == {ItemState.COMPLETED}
    assert len({i.sha256 for i in Image.objects.all()}) == 1


def test_a_lab_unit_not_assigned_to_the_user_is_refused(client, world):
    client.force_login(world.alice)
    response = post(client, world, [jpg("a.jpg")], lab_unit=world.screening.pk)
    assert response.status_code == 400
    assert "You don&#x27;t have access to the selected lab unit" in response.content.decode()
    assert not UploadJob.objects.exists()


def test_a_lab_unit_of_another_hospital_is_refused(client, world):
    client.force_login(world.root)
    response = post(client, world, [jpg("a.jpg")], lab_unit=world.outpatients.pk)
    assert response.status_code == 400
    assert not UploadJob.objects.exists()


def test_admins_are_not_exempt_from_lab_unit_assignment(client, world):
    client.force_login(world.root)
    response = post(client, world, [jpg("a.jpg")])  # St Lucia / Retina: root is not assigned
    assert response.status_code == 400


def test_a_missing_field_says_all_fields_are_required(client, world):
    client.force_login(world.alice)
    response = post(client, world, [jpg("a.jpg")], camera=None)
    assert response.status_code == 400
    assert "All fields are required" in response.content.decode()


def test_a_refused_upload_leaves_no_staged_bytes_behind(client, world, isolated_storage):
    client.force_login(world.alice)
    post(client, world, [jpg("a.jpg")], area=None)
    assert list((isolated_storage / "staging").iterdir()) == []


def test_no_files_says_no_selected_file(client, world):
    client.force_login(world.alice)
    response = client.post(URL, form_data(world))
    assert response.status_code == 400
    assert "No selected file" in response.content.decode()


def test_an_empty_file_is_an_error_item(client, world):
    client.force_login(world.alice)
    post(client, world, [jpg("empty.jpg", b""), jpg("a.jpg")])
    empty, _ = items_of(UploadJob.objects.get())
    assert empty.state == ItemState.ERROR and empty.detail == "No selected file"


def test_json_clients_get_json_answers(client, world):
    client.force_login(world.alice)
    ok = client.post(
        URL, {**form_data(world), "files": [jpg("a.jpg")]}, HTTP_ACCEPT="application/json"
    )
    assert ok.status_code == 201
    assert ok.json()["processing_url"].startswith("/direct/upload/processing/")
    bad = client.post(URL, {"files": [jpg("a.jpg")]}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and bad.json() == {"error": "All fields are required"}


def test_mydriatic_is_recorded_when_on(client, world):
    client.force_login(world.alice)
    post(client, world, [jpg("a.jpg")], mydriatic="on")
    run_worker()
    assert Image.objects.get().mydriatic is True


def test_the_browser_rejected_summary_is_kept_on_the_job(client, world):
    import json

    client.force_login(world.alice)
    rejected = [
        {"filename": "x.gif", "reason": "Invalid file type: image/gif. Only JPG/PNG allowed."}
    ]
    post(client, world, [jpg("a.jpg")], rejected=json.dumps(rejected))
    assert UploadJob.objects.get().rejected == rejected


@pytest.mark.parametrize(
    "rejected",
    [
        "[" * 100_000 + "]" * 100_000,
        '[{"filename": "a\\u0000.gif", "reason": "x"}]',
        '[{"filename": "x.gif", "reason": 1e999}]',
        '{"filename": "x.gif"}',
    ],
    ids=["nested", "nul", "huge-number", "not-a-list"],
)
def test_a_malformed_browser_rejected_summary_is_ignored_and_the_upload_goes_ahead(
    client, world, rejected
):
    client.force_login(world.alice)
    post(client, world, [jpg("a.jpg")], rejected=rejected)
    assert UploadJob.objects.get().rejected == []


def test_a_long_filename_is_capped_and_keeps_its_extension(client, world):
    client.force_login(world.alice)
    post(client, world, [jpg("x" * 300 + ".jpg")])
    item = UploadItem.objects.get()
    assert len(item.filename) == 255 and item.filename.endswith(".jpg")


def test_a_path_in_the_filename_is_reduced_to_its_last_part(client, world):
    client.force_login(world.alice)
    post(client, world, [jpg("../../etc/passwd.jpg")])
    assert UploadItem.objects.get().filename == "passwd.jpg"


def test_the_upload_is_audited_with_ip_and_user_agent(client, world):
    from fundushub.audit.models import AuditEvent

    client.force_login(world.alice)
    client.post(
        URL,
        {**form_data(world), "files": [jpg("a.jpg")]},
        HTTP_USER_AGENT="TestBrowser/1.0",
        REMOTE_ADDR="10.1.2.3",
    )
    run_worker()
    created = AuditEvent.objects.get(action="upload.job_created")
    stored = AuditEvent.objects.get(action="image.stored")
    for event in (created, stored):
        assert event.user == world.alice
        assert event.ip == "10.1.2.3" and event.user_agent == "TestBrowser/1.0"
    assert stored.object_id == str(Image.objects.get().pk)


def test_users_without_an_upload_role_are_forbidden(client, world):
    from fundushub.accounts.models import User

    nobody = User.objects.create_user("nobody", password="pw")
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_csrf_is_enforced(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    assert post(client, world, [jpg("a.jpg")]).status_code == 403
    assert not UploadJob.objects.exists()


def test_the_form_offers_a_subject_and_an_eye_for_its_images(client, world, settings):
    settings.FUNDUSHUB_SUBJECT_PATTERN = r"^(?P<subject>P\d+)"
    client.force_login(world.alice)
    body = client.get(URL).content.decode()
    for source in ("none", "typed", "filename", "manifest"):
        assert f'name="subject_source" value="{source}"' in body
    assert 'name="subject"' in body and 'name="manifest"' in body
    assert 'name="eye_from_name" id="eye_from_name" checked' in body
    assert 'placeholder="^(?P&lt;subject&gt;P\\d+)"' in body  # the server's pattern, shown
    assert 'data-subjects-url="/api/direct-upload/subjects"' in body
