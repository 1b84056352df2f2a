import json
import re
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from fundushub.store.models import Image
from fundushub.uploads.models import UploadJob
from tests.checks.results import add_result, all_clear, four_checks  # noqa: F401
from tests.conftest import form_data, fundus_jpeg, fundus_png, run_worker

TEXT = b"just some text, not an image\n"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def upload(client, world, *files, user=None, rejected=None, **overrides):
    """POST /direct/upload as `user` (alice by default); files are (name, bytes) pairs."""
    client.force_login(user or world.alice)
    data = {
        **form_data(world, **overrides),
        "files": [SimpleUploadedFile(name, content, "image/jpeg") for name, content in files],
    }
    if rejected is not None:
        data["rejected"] = json.dumps(rejected)
    response = client.post("/direct/upload", data)
    assert response.status_code == 303, response.content
    return UploadJob.objects.get(pk=response["Location"].rsplit("/", 1)[1])


def url(job_id):
    return f"/direct/upload/results/{job_id}"


def page(client, user, job_id):
    client.force_login(user)
    response = client.get(url(job_id))
    assert response.status_code == 200
    return response.content.decode()


def stat(body, name):
    return int(re.search(rf'<dd id="{name}">(\d+)</dd>', body).group(1))


def failures(body):
    """(filename, reason) for every row of the failures table; [] when there is none."""
    table = re.search(r'<table class="files[^"]*" id="failures">(.*?)</table>', body, re.S)
    if table is None:
        return []
    return re.findall(r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td></tr>", table.group(1), re.S)


def test_it_counts_the_files_processed_stored_and_failed(client, world):
    job = upload(
        client,
        world,
        ("a.jpg", fundus_jpeg(1)),
        ("b.png", fundus_png(2)),
        ("notes.jpg", TEXT),
    )
    run_worker()
    body = page(client, world.alice, job.id)
    assert "Total files processed" in body and stat(body, "total") == 3
    assert "Successfully uploaded" in body and stat(body, "succeeded") == 2
    assert "Failed uploads" in body and stat(body, "failed") == 1


def test_it_lists_each_failure_with_its_filename_and_reason(client, world):
    job = upload(
        client,
        world,
        ("a.jpg", fundus_jpeg(1)),
        ("notes.jpg", TEXT),
        ("scan.png", PDF),
    )
    run_worker()
    assert failures(page(client, world.alice, job.id)) == [
        ("notes.jpg", "Invalid file type: text/plain. Only JPG/PNG allowed."),
        ("scan.png", "Invalid file type: application/pdf. Only JPG/PNG allowed."),
    ]


def test_a_file_over_the_size_limit_is_listed_as_too_large(client, world, settings):
    settings.DIRECT_UPLOAD_MAX_FILE_SIZE_MB = 1
    over = fundus_jpeg(3) + b"\0" * (1024 * 1024)
    job = upload(client, world, ("over.jpg", over))
    assert failures(page(client, world.alice, job.id)) == [("over.jpg", "File too large (max 1MB)")]


def test_a_file_beyond_the_quota_is_listed_as_quota_exceeded(client, world):
    world.alice.upload_quota = 1
    world.alice.save()
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.jpg", fundus_jpeg(2)))
    run_worker()
    body = page(client, world.alice, job.id)
    assert stat(body, "succeeded") == 1
    assert failures(body) == [("b.jpg", "Upload quota exceeded")]


def test_a_job_with_a_failure_says_one_or_more_files_failed(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("notes.jpg", TEXT))
    run_worker()
    body = page(client, world.alice, job.id)
    assert "One or more files failed" in body
    assert '<span class="badge badge-error">Error</span>' in body


def test_a_job_where_everything_was_stored_is_completed_without_failures(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    run_worker()
    body = page(client, world.alice, job.id)
    assert '<span class="badge badge-done">Completed</span>' in body
    assert "One or more files failed" not in body
    assert failures(body) == [] and "No failures." in body


def test_a_duplicate_is_not_a_failure(client, world):
    data = fundus_jpeg(7)
    upload(client, world, ("a.jpg", data))
    run_worker()
    again = upload(client, world, ("again.jpg", data))
    run_worker()
    body = page(client, world.alice, again.id)
    assert stat(body, "duplicates") == 1 and stat(body, "failed") == 0
    assert failures(body) == [] and "One or more files failed" not in body
    assert '<span class="badge badge-done">Completed</span>' in body
    assert "Duplicate file" in body


def test_a_duplicate_shows_the_thumbnail_of_the_image_already_stored(client, world):
    data = fundus_jpeg(7)
    upload(client, world, ("a.jpg", data))
    run_worker()
    again = upload(client, world, ("again.jpg", data))
    run_worker()
    body = page(client, world.alice, again.id)
    assert f'src="/images/{Image.objects.get().pk}/thumbnail"' in body


def test_files_the_browser_left_out_are_listed_with_their_reason(client, world):
    rejected = [
        {"filename": "huge.jpg", "reason": "File too large (max 5MB)"},
        {"filename": "clip.gif", "reason": "Invalid file type: image/gif. Only JPG/PNG allowed."},
    ]
    job = upload(client, world, ("notes.jpg", TEXT), rejected=rejected)
    body = page(client, world.alice, job.id)
    assert failures(body) == [
        ("notes.jpg", "Invalid file type: text/plain. Only JPG/PNG allowed."),
        ("huge.jpg", "File too large (max 5MB)"),
        ("clip.gif", "Invalid file type: image/gif. Only JPG/PNG allowed."),
    ]
    assert "Left out before upload" in body and stat(body, "rejected") == 2


def test_an_unfinished_job_redirects_to_the_processing_page(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    response = client.get(url(job.id))
    assert response.status_code == 302
    assert response["Location"] == f"/direct/upload/processing/{job.id}"


def test_another_uploaders_job_is_a_404(client, world):
    job = upload(client, world, ("notes.jpg", TEXT))
    client.force_login(world.bob)
    assert client.get(url(job.id)).status_code == 404


def test_a_random_job_id_is_a_404(client, world):
    client.force_login(world.alice)
    assert client.get(url(uuid.uuid4())).status_code == 404


def test_a_data_manager_of_the_jobs_lab_unit_can_read_them(client, world):
    job = upload(client, world, ("notes.jpg", TEXT))
    assert failures(page(client, world.mary, job.id))[0][0] == "notes.jpg"


def test_an_admin_of_another_lab_unit_gets_a_404(client, world):
    job = upload(client, world, ("notes.jpg", TEXT))
    client.force_login(world.root)
    assert client.get(url(job.id)).status_code == 404


def test_a_data_manager_of_another_lab_unit_of_the_same_hospital_gets_a_404(
    client, world, same_hospital_other_unit_user
):
    job = upload(client, world, ("notes.jpg", TEXT))
    client.force_login(same_hospital_other_unit_user)
    assert client.get(url(job.id)).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    job = upload(client, world, ("notes.jpg", TEXT))
    client.logout()
    response = client.get(url(job.id))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url(job.id)}"


# Counts that agree, in words, with links (issue 11, C17) ----------------------------------


def test_it_says_in_words_what_happened_to_every_file(client, world):
    already = fundus_jpeg(99)
    upload(client, world, ("first.jpg", already))
    run_worker()
    files = [(f"f{i}.jpg", fundus_jpeg(i)) for i in range(11)] + [("again.jpg", already)]
    job = upload(client, world, *files)
    run_worker()
    body = page(client, world.alice, job.id)
    assert '<p class="outcome" id="outcome">11 of 12 stored; 1 was already stored.</p>' in body


def test_files_the_browser_left_out_are_counted_once_as_duplicates_or_failures(client, world):
    rejected = [
        {"filename": "seen.jpg", "reason": "Duplicate file"},
        {"filename": "clip.gif", "reason": "Invalid file type: image/gif. Only JPG/PNG allowed."},
    ]
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), rejected=rejected)
    run_worker()
    body = page(client, world.alice, job.id)
    figures = {n: stat(body, n) for n in ("total", "succeeded", "duplicates", "failed", "rejected")}
    assert figures == {"total": 3, "succeeded": 1, "duplicates": 1, "failed": 1, "rejected": 2}
    assert figures["succeeded"] + figures["duplicates"] + figures["failed"] == figures["total"]
    assert (
        "1 of 3 stored; 1 was already stored; 1 failed. "
        "2 of them were left out by the browser before upload."
    ) in body
    # The left-out duplicate is not a failure; both are in the list of all files.
    assert failures(body) == [("clip.gif", "Invalid file type: image/gif. Only JPG/PNG allowed.")]
    every = re.search(r'id="all-files">(.*?)</table>', body, re.S).group(1)
    assert "seen.jpg" in every and "clip.gif" in every
    assert every.count("(left out before upload)") == 2


def test_thumbnails_and_names_link_to_the_viewer(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("notes.jpg", TEXT))
    run_worker()
    image = Image.objects.get()
    body = page(client, world.alice, job.id)
    # Opened inside this job's images: previous/next step through them, Back shows them.
    viewer = f"/direct/images/{image.pk}?job={job.id}"
    assert f'<a href="{viewer}"><img src="/images/{image.pk}/thumbnail"' in body
    assert f'<a href="{viewer}">a.jpg</a>' in body
    client.force_login(world.alice)
    opened = client.get(viewer).content.decode()
    assert f'<a href="/direct/dashboard?job={job.id}" id="back-link">' in opened
    assert ">notes.jpg</a>" not in body  # a failed file has no image to open


def test_it_links_to_the_images_page_filtered_to_this_job(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    run_worker()
    body = page(client, world.alice, job.id)
    assert f'<a href="/direct/dashboard?job={job.id}" id="job-images">See this image' in body
    client.force_login(world.alice)
    dashboard = client.get(f"/direct/dashboard?job={job.id}")
    assert [i.pk for i in dashboard.context["page"].rows] == [Image.objects.get().pk]


def test_a_job_that_stored_nothing_has_no_link_to_the_images_page(client, world):
    job = upload(client, world, ("notes.jpg", TEXT))
    body = page(client, world.alice, job.id)
    assert 'id="job-images"' not in body and "0 of 1 stored; 1 failed." in body


def subjects_and_eyes(body):
    """(file, subject, eye) for every row of the all-files table."""
    table = re.search(r'<table class="files stack" id="all-files">(.*?)</table>', body, re.S)
    cells = r'<td data-label="{}">(.*?)</td>'
    row = r"\s*".join(cells.format(label) for label in ("File", "Subject", "Eye"))
    return [
        (re.sub(r"<[^>]+>", "", f), s, re.sub(r"<[^>]+>", "", e).strip())
        for f, s, e in re.findall(row, table.group(1), re.S)
    ]


def test_it_shows_each_files_subject_and_eye(client, world):
    rejected = [{"filename": "huge.jpg", "reason": "File too large (max 5MB)"}]
    job = upload(
        client,
        world,
        ("a.jpg", fundus_jpeg(1)),
        ("b.jpg", fundus_jpeg(2)),
        rejected=rejected,
        subject="P-0042",
        file_eye=["", "unknown"],
    )
    run_worker()
    body = page(client, world.alice, job.id)
    assert subjects_and_eyes(body) == [
        ("a.jpg", "P-0042", "Left eye"),
        ("b.jpg", "P-0042", "Unknown eye"),
        ("huge.jpg", "—", "—"),  # left out by the browser: never labelled
    ]
    assert '<span class="badge badge-eye-unknown">Unknown eye</span>' in body


# --- checks at capture (issue 15) ---


def checks_cells(body):
    """{image id: the text of its checks cell} of the All files table."""
    found = re.findall(
        r'<td data-label="Checks at capture" data-checks-for="([^"]+)">(.*?)</td>', body, re.S
    )
    return {pk: " ".join(re.sub(r"<[^>]+>", " ", cell).split()) for pk, cell in found}


def test_each_stored_file_shows_its_checks_and_the_page_follows_those_still_running(
    client,
    world,
    four_checks,  # noqa: F811
):
    job = upload(
        client, world, ("a.jpg", fundus_jpeg(1)), ("b.jpg", fundus_jpeg(2)), ("notes.jpg", TEXT)
    )
    run_worker()
    a = Image.objects.get(original_filename="a.jpg")
    b = Image.objects.get(original_filename="b.jpg")
    add_result(
        a, "laterality", "flag", "eye may be mislabelled: the optic disc is on the left", True
    )
    body = page(client, world.alice, job.id)
    assert checks_cells(body) == {
        str(a.pk): "Checking… Eye may be mislabelled (eye may be mislabelled: the optic disc is on "
        "the left)",
        str(b.pk): "Checking…",
    }
    assert f'<tbody data-checks-status-url="/api/upload-jobs/{job.id}/status">' in body
    assert 'src="/static/fundushub/check-badges.js"' in body
    all_clear(b)
    assert checks_cells(page(client, world.alice, job.id))[str(b.pk)] == (
        "No problem found at capture"
    )


def test_a_failed_or_left_out_file_has_no_checks(client, world):
    job = upload(
        client,
        world,
        ("notes.jpg", TEXT),
        rejected=[{"filename": "huge.jpg", "reason": "File too large (max 5MB)"}],
    )
    run_worker()
    body = page(client, world.alice, job.id)
    assert checks_cells(body) == {}
    assert body.count('<td data-label="Checks at capture">—</td>') == 2
