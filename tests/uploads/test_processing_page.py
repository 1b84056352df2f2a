import re
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from fundushub.accounts import roles
from fundushub.store.models import Image
from fundushub.uploads.models import UploadJob
from tests.checks.results import add_result, all_clear, four_checks  # noqa: F401
from tests.conftest import (
    form_data,
    fundus_jpeg,
    fundus_png,
    make_user,
    run_worker,
    worker_heartbeat,
)

TEXT = b"just some text, not an image\n"


def upload(client, world, *files, user=None, **overrides):
    """POST /direct/upload as `user` (alice by default); files are (name, bytes) pairs."""
    client.force_login(user or world.alice)
    uploads = [SimpleUploadedFile(name, data, "image/jpeg") for name, data in files]
    response = client.post("/direct/upload", {**form_data(world, **overrides), "files": uploads})
    assert response.status_code == 303, response.content
    return UploadJob.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[1])


def bobs_upload(client, world):
    return upload(
        client,
        world,
        ("b.jpg", fundus_jpeg(50)),
        user=world.bob,
        hospital=world.northgate.pk,
        lab_unit=world.outpatients.pk,
    )


def url(job_id):
    return f"/direct/upload/processing/{job_id}"


def page(client, user, job_id):
    client.force_login(user)
    response = client.get(url(job_id))
    assert response.status_code == 200
    return response.content.decode()


def job_badge(body):
    return re.search(r'<span id="job-badge">\s*(<span .*?</span>)', body, re.S).group(1)


def meta_refresh(body):
    match = re.search(r'<meta http-equiv="refresh" content="([^"]*)"', body)
    return match and match.group(1)


def test_it_shows_the_job_id(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    body = page(client, world.alice, job.id)
    assert f'<code id="job-id">{job.id}</code>' in body


def test_it_lists_every_file_with_its_own_status(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("notes.jpg", TEXT))
    body = page(client, world.alice, job.id)
    rows = re.findall(
        r"<tr><td>(.*?)</td>(?:<td>.*?</td>){2}<td>\s*(.*?)\s*</td><td>(.*?)</td><td>.*?</td></tr>",
        body,
        re.S,
    )
    assert rows == [
        ("a.jpg", '<span class="badge badge-queued">Queued</span>', ""),
        (
            "notes.jpg",
            '<span class="badge badge-error">Error</span>',
            "Invalid file type: text/plain. Only JPG/PNG allowed.",
        ),
    ]


def test_a_job_nobody_has_started_has_a_gray_queued_badge(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.png", fundus_png(2)))
    body = page(client, world.alice, job.id)
    assert job_badge(body) == '<span class="badge badge-queued">Queued</span>'
    assert "0 of 2 files processed" in body


def test_a_job_of_one_file_says_file_not_files(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    assert "0 of 1 file processed" in page(client, world.alice, job.id)


def test_it_says_how_many_files_the_browser_left_out(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    UploadJob.objects.filter(pk=job.pk).update(
        rejected=[
            {"filename": "seen.jpg", "reason": "Duplicate file"},
            {"filename": "big.jpg", "reason": "File too large (max 5MB)"},
        ]
    )
    body = page(client, world.alice, job.id)
    assert "0 of 1 file processed" in body
    assert (
        "2 more files were left out by the browser before upload (already stored or refused); "
        "the results page counts them too."
    ) in body


def test_a_job_half_way_through_has_a_blue_processing_badge_and_a_half_full_bar(client, world):
    job = upload(client, world, ("notes.jpg", TEXT), ("a.jpg", fundus_jpeg(1)))
    body = page(client, world.alice, job.id)
    assert job_badge(body) == '<span class="badge badge-processing">Processing</span>'
    assert 'role="progressbar"' in body
    assert 'aria-valuenow="50"' in body and 'data-percent="50"' in body
    assert "1 of 2 files processed" in body


def test_a_finished_job_has_a_green_completed_badge_and_a_full_bar(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.png", fundus_png(2)))
    run_worker()
    body = page(client, world.alice, job.id)
    assert job_badge(body) == '<span class="badge badge-done">Completed</span>'
    assert 'aria-valuenow="100"' in body and "2 of 2 files processed" in body
    assert body.count('<span class="badge badge-completed">Completed</span>') == 2


def test_a_job_with_a_failed_file_has_a_red_error_badge(client, world):
    job = upload(client, world, ("notes.jpg", TEXT))
    body = page(client, world.alice, job.id)
    assert job_badge(body) == '<span class="badge badge-error">Error</span>'


def test_view_results_appears_only_once_the_job_is_finished(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    link = f'id="view-results" href="/direct/upload/results/{job.id}"'
    before = page(client, world.alice, job.id)
    assert f"{link} hidden>" in before
    run_worker()
    after = page(client, world.alice, job.id)
    assert f"{link} >" in after and "View Results" in after


def test_it_has_a_refresh_now_button_and_polls_the_status_api(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    body = page(client, world.alice, job.id)
    assert ">Refresh now</button>" in body
    assert f'data-status-url="/api/upload-jobs/{job.id}/status"' in body
    assert "fundushub/processing" in body and ".js" in body


def test_without_javascript_an_unfinished_job_reloads_every_3_seconds(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    body = page(client, world.alice, job.id)
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in body


def test_without_javascript_a_finished_job_goes_on_to_its_results(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    run_worker()
    refresh = meta_refresh(page(client, world.alice, job.id))
    # Reloading the processing page for ever would never reach the results; go there instead.
    assert refresh is not None and f"/direct/upload/results/{job.id}" in refresh


def test_filenames_are_shown_as_text_not_markup(client, world):
    job = upload(client, world, ("<img src=x onerror=alert(1)>.jpg", fundus_jpeg(1)))
    body = page(client, world.alice, job.id)
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in body


def test_another_uploaders_job_is_a_404(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    client.force_login(world.bob)
    assert client.get(url(job.id)).status_code == 404


def test_a_colleague_uploader_in_the_same_lab_unit_gets_a_404(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    carol = make_user("carol", roles.UPLOADER, [world.retina])
    client.force_login(carol)
    assert client.get(url(job.id)).status_code == 404


def test_a_random_job_id_is_a_404(client, world):
    client.force_login(world.alice)
    assert client.get(url(uuid.uuid4())).status_code == 404


def test_a_data_manager_of_the_jobs_lab_unit_can_watch_it(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    assert str(job.id) in page(client, world.mary, job.id)


def test_an_admin_of_the_jobs_lab_unit_can_watch_it(client, world):
    job = bobs_upload(client, world)
    assert str(job.id) in page(client, world.root, job.id)


def test_a_data_manager_of_another_lab_unit_gets_a_404(client, world):
    job = bobs_upload(client, world)
    client.force_login(world.mary)
    assert client.get(url(job.id)).status_code == 404


def test_an_admin_of_another_lab_unit_gets_a_404(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    client.force_login(world.root)
    assert client.get(url(job.id)).status_code == 404


def test_a_data_manager_of_another_lab_unit_of_the_same_hospital_gets_a_404(
    client, world, same_hospital_other_unit_user
):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    client.force_login(same_hospital_other_unit_user)
    assert client.get(url(job.id)).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    client.logout()
    response = client.get(url(job.id))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url(job.id)}"


def test_it_only_answers_get(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    assert client.post(url(job.id)).status_code == 405


def worker_hint(body):
    return re.search(r'<p class="alert alert-warning" id="worker-hint"[^>]*>', body).group(0)


def test_it_says_plainly_when_no_worker_has_been_seen_for_a_while(client, world, settings):
    settings.FUNDUSHUB_WORKER_STALE_SECONDS = 60
    worker_heartbeat(seconds_ago=120)
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    body = page(client, world.alice, job.id)
    assert "hidden" not in worker_hint(body)
    assert "Waiting for a worker — ask your administrator." in body


def test_the_worker_hint_stays_hidden_while_a_worker_beats(client, world, settings):
    settings.FUNDUSHUB_WORKER_STALE_SECONDS = 60
    worker_heartbeat(seconds_ago=3)
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    assert "hidden" in worker_hint(page(client, world.alice, job.id))


def test_it_shows_each_files_subject_and_eye_and_an_unknown_eye_plainly(client, world):
    job = upload(
        client,
        world,
        ("a.jpg", fundus_jpeg(1)),
        ("b.jpg", fundus_jpeg(2)),
        subject="P-0042",
        file_eye=["right", "unknown"],
    )
    body = page(client, world.alice, job.id)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>", body)
    assert rows == [
        ("a.jpg", "P-0042", "Right eye"),
        ("b.jpg", "P-0042", '<span class="badge badge-eye-unknown">Unknown eye</span>'),
    ]


def test_a_file_without_a_subject_shows_a_dash(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    assert "<tr><td>a.jpg</td><td>—</td><td>Left eye</td>" in page(client, world.alice, job.id)


# --- checks at capture (issue 15) ---


def test_each_stored_file_shows_its_checks_as_they_land(client, world, four_checks):  # noqa: F811
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.jpg", fundus_jpeg(2)))
    assert "Checking…" not in page(client, world.alice, job.id)  # nothing stored yet
    run_worker()
    assert page(client, world.alice, job.id).count("Checking…") == 2
    a = Image.objects.get(original_filename="a.jpg")
    add_result(a, "gradability", "ungradable", "looks blurred", True)
    all_clear(Image.objects.get(original_filename="b.jpg"))
    body = page(client, world.alice, job.id)
    assert '<th scope="col">Checks at capture</th>' in body
    assert "Looks blurred — recapture while the patient is here" in body
    assert body.count("Checking…") == 1  # a's other checks are still running
    assert "No problem found at capture" in body  # b


def test_the_page_draws_the_checks_with_the_shared_badges_script(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    body = page(client, world.alice, job.id)
    badges = body.index('src="/static/fundushub/check-badges.js"')
    assert badges < body.index('src="/static/fundushub/processing.js"')
