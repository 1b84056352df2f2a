import re
from datetime import UTC, datetime, timedelta

from fundushub.accounts import roles
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from tests.conftest import make_user

URL = "/direct/upload/jobs"
T0 = datetime(2024, 3, 5, 14, 7, tzinfo=UTC)


def make_job(world, user=None, unit=None, states=(), rejected=(), created_at=None):
    """A job straight in the database: its items in `states`, created at `created_at`."""
    unit = unit or world.retina
    job = UploadJob.objects.create(
        user=user or world.alice,
        hospital=unit.hospital,
        lab_unit=unit,
        camera=world.topcon,
        disease=world.dr,
        area=world.left,
        rejected=list(rejected),
    )
    UploadItem.objects.bulk_create(
        UploadItem(job=job, position=i, filename=f"{i}.jpg", state=state)
        for i, state in enumerate(states)
    )
    if created_at is not None:
        UploadJob.objects.filter(pk=job.pk).update(created_at=created_at)
    return job


def rows(client, user):
    """The table as {job id: [cell text, ...]}, in page order."""
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S):
        link = re.search(r'href="/direct/upload/(?:processing|results)/([0-9a-f-]{36})"', row)
        if link:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            found[link.group(1)] = [re.sub(r"<[^>]+>", "", c).strip() for c in cells]
    return found


def row_html(client, user, job):
    client.force_login(user)
    body = client.get(URL).content.decode()
    return next(r for r in re.findall(r"<tr>(.*?)</tr>", body, re.S) if str(job.id) in r)


def test_it_lists_jobs_newest_first(client, world):
    middle = make_job(world, created_at=T0)
    oldest = make_job(world, created_at=T0 - timedelta(days=1))
    newest = make_job(world, created_at=T0 + timedelta(minutes=1))
    assert list(rows(client, world.alice)) == [str(j.id) for j in (newest, middle, oldest)]


def test_it_shows_at_most_the_100_most_recent_jobs(client, world):
    common = dict(
        user=world.alice,
        hospital=world.st_lucia,
        lab_unit=world.retina,
        camera=world.topcon,
        disease=world.dr,
        area=world.left,
    )
    jobs = UploadJob.objects.bulk_create(UploadJob(**common) for _ in range(101))
    for age, job in enumerate(jobs):  # jobs[0] is the newest, jobs[100] the oldest
        UploadJob.objects.filter(pk=job.pk).update(created_at=T0 - timedelta(minutes=age))
    shown = list(rows(client, world.alice))
    assert shown == [str(j.id) for j in jobs[:100]]
    assert str(jobs[100].id) not in shown


def test_it_shows_when_each_job_was_created(client, world, settings):
    settings.TIME_ZONE = "UTC"
    job = make_job(world, states=[ItemState.COMPLETED], created_at=T0)
    assert rows(client, world.alice)[str(job.id)][0] == "2024-03-05 14:07"


def test_it_shows_each_jobs_status_badge(client, world):
    queued = make_job(world, states=[ItemState.QUEUED, ItemState.QUEUED])
    processing = make_job(world, states=[ItemState.COMPLETED, ItemState.QUEUED])
    done = make_job(world, states=[ItemState.COMPLETED, ItemState.DUPLICATE])
    error = make_job(world, states=[ItemState.COMPLETED, ItemState.ERROR])
    for job, badge in [
        (queued, '<span class="badge badge-queued">Queued</span>'),
        (processing, '<span class="badge badge-processing">Processing</span>'),
        (done, '<span class="badge badge-done">Completed</span>'),
        (error, '<span class="badge badge-error">Error</span>'),
    ]:
        assert badge in row_html(client, world.alice, job)


def test_a_finished_job_links_to_its_results_and_an_unfinished_one_to_its_progress(client, world):
    done = make_job(world, states=[ItemState.COMPLETED])
    running = make_job(world, states=[ItemState.PROCESSING])
    assert f'href="/direct/upload/results/{done.id}"' in row_html(client, world.alice, done)
    assert f'href="/direct/upload/processing/{running.id}"' in row_html(
        client, world.alice, running
    )


def test_the_rejection_count_adds_failed_files_and_files_the_browser_left_out(client, world):
    job = make_job(
        world,
        states=[ItemState.COMPLETED, ItemState.ERROR, ItemState.DUPLICATE],
        rejected=[
            {"filename": "x.gif", "reason": "Invalid file type: image/gif. Only JPG/PNG allowed."},
            {"filename": "big.jpg", "reason": "File too large (max 5MB)"},
        ],
    )
    clean = make_job(world, states=[ItemState.COMPLETED, ItemState.DUPLICATE])
    table = rows(client, world.alice)
    assert table[str(job.id)][-1] == "3"
    assert table[str(clean.id)][-1] == "0"


def test_an_uploader_sees_only_their_own_jobs(client, world):
    carol = make_user("carol", roles.UPLOADER, [world.retina])
    mine = make_job(world)
    colleagues = make_job(world, user=carol)
    elsewhere = make_job(world, user=world.bob, unit=world.outpatients)
    shown = rows(client, world.alice)
    assert str(mine.id) in shown
    assert str(colleagues.id) not in shown and str(elsewhere.id) not in shown


def test_a_data_manager_sees_every_job_of_their_lab_units(client, world):
    carol = make_user("carol", roles.UPLOADER, [world.screening])
    retina = make_job(world)
    screening = make_job(world, user=carol, unit=world.screening)
    elsewhere = make_job(world, user=world.bob, unit=world.outpatients)
    shown = rows(client, world.mary)
    assert str(retina.id) in shown and str(screening.id) in shown
    assert str(elsewhere.id) not in shown


def test_an_admin_sees_every_job_of_their_lab_units_only(client, world):
    outpatients = make_job(world, user=world.bob, unit=world.outpatients)
    retina = make_job(world)
    shown = rows(client, world.root)
    assert str(outpatients.id) in shown and str(retina.id) not in shown


def test_a_data_manager_sees_no_job_of_another_lab_unit_of_the_same_hospital(
    client, world, same_hospital_other_unit_user
):
    retina = make_job(world)
    screening = make_job(world, user=same_hospital_other_unit_user, unit=world.screening)
    shown = rows(client, same_hospital_other_unit_user)
    assert str(screening.id) in shown and str(retina.id) not in shown


def test_someone_without_jobs_sees_an_empty_state(client, world):
    make_job(world, user=world.bob, unit=world.outpatients)
    client.force_login(world.alice)
    body = client.get(URL).content.decode()
    assert "No uploads yet." in body and 'id="jobs"' not in body


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


def test_the_upload_pages_link_to_it_as_recent_jobs(client, world):
    client.force_login(world.alice)
    body = client.get("/direct/upload").content.decode()
    assert f'<a href="{URL}">Recent Jobs</a>' in body


def test_each_job_says_what_happened_with_counts_that_include_the_browsers_left_outs(client, world):
    job = make_job(
        world,
        states=[ItemState.COMPLETED] * 11,
        rejected=[{"filename": "seen.jpg", "reason": "Duplicate file"}],
    )
    cells = rows(client, world.alice)[str(job.id)]
    assert cells[4] == "12"  # files chosen, the left-out duplicate included
    assert cells[5].startswith(
        "11 of 12 stored; 1 was already stored. "
        "1 of them was left out by the browser before upload."
    )
    assert cells[-1] == "0"  # a duplicate is not a rejection


def test_a_job_with_stored_images_links_to_them_on_the_images_page(client, world):
    stored = make_job(world, states=[ItemState.COMPLETED])
    failed = make_job(world, states=[ItemState.ERROR])
    link = f'<a href="/direct/dashboard?job={stored.id}">See the images</a>'
    assert link in row_html(client, world.alice, stored)
    assert "/direct/dashboard?job=" not in row_html(client, world.alice, failed)
