"""The direct-upload form in a real browser: sign in, pick, drop, review, upload, follow, read."""

import hashlib
import re
import time

import pytest
from playwright.sync_api import expect

from fundushub.store.models import Image
from fundushub.uploads.models import ItemState, UploadJob
from tests.browser.conftest import drop_files, screenshot, sign_in
from tests.conftest import fundus_jpeg, fundus_png, noisy_jpeg

pytestmark = pytest.mark.browser

JPEG, PNG = "image/jpeg", "image/png"
INVALID_TEXT = "Invalid file type: text/plain. Only JPG/PNG allowed."
NO_WEBCRYPTO = "Object.defineProperty(window.crypto, 'subtle', {get: () => undefined});"


def store_image(world, data: bytes, lab_unit=None, name="earlier.jpg") -> Image:
    """An image already in the store, as an earlier upload would have left it."""
    lab_unit = lab_unit or world.retina
    return Image.objects.create(
        uploaded_by=world.alice,
        hospital=lab_unit.hospital,
        lab_unit=lab_unit,
        original_filename=name,
        content_type=JPEG,
        size=len(data),
        width=640,
        height=480,
        md5=hashlib.md5(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def fill_form(
    page,
    hospital="St Lucia",
    unit="Retina",
    camera="Topcon TRC-NW400",
    disease="DR",
    area="Left eye",
):
    page.locator(".pill", has_text=hospital).click()
    page.get_by_label("Lab Unit").select_option(label=unit)
    page.get_by_label("Camera").select_option(label=camera)
    page.get_by_label("Disease").select_option(label=disease)
    page.get_by_label("Area").select_option(label=area)


def row(page, filename):
    return page.locator("#file-list li", has=page.locator(".name", has_text=filename))


def test_an_upload_leaves_out_a_duplicate_and_a_wrong_type_and_reports_them(pages, world, workers):
    already_stored = fundus_jpeg(seed=2)
    store_image(world, already_stored)
    page = pages.new()
    page.add_init_script(NO_WEBCRYPTO)  # a plain-HTTP LAN page has no crypto.subtle
    statuses = []

    def record_status(route):
        response = route.fetch()
        statuses.append(response.json()["status"])
        route.fulfill(response=response)

    page.route("**/api/upload-jobs/*/status", record_status)

    sign_in(page, shot="login")
    fill_form(page)
    page.get_by_role("switch", name="Mydriatic").check()
    drop_files(
        page,
        [
            ("fundus-1.jpg", fundus_jpeg(seed=1), JPEG),
            ("already-stored.jpg", already_stored, JPEG),
            ("notes.jpg", b"Patient notes, not an image.\n", JPEG),
        ],
    )

    expect(row(page, "fundus-1.jpg").locator(".status")).to_have_text("Ready")
    expect(row(page, "already-stored.jpg").locator(".status")).to_have_text("Duplicate file")
    expect(row(page, "notes.jpg").locator(".status")).to_have_text(INVALID_TEXT)
    expect(page.locator("#notice")).to_contain_text(
        "Left out of this upload: 1 duplicate and 1 rejected file"
    )
    expect(page.locator("#notice")).to_contain_text("Only the other 1 file will be uploaded.")
    expect(page.locator("#file-summary")).to_have_text(
        "3 files selected · 1 to upload · 2 left out"
    )
    screenshot(page, "upload-form")

    page.get_by_role("button", name="Upload Images").click()
    page.wait_for_url(re.compile(r"/direct/upload/processing/[0-9a-f-]{36}$"))
    job = UploadJob.objects.get()
    expect(page.locator("#job-id")).to_have_text(str(job.id))
    expect(page.locator("#job-badge")).to_have_text("Queued")
    expect(page.locator("#progress-text")).to_have_text("0 of 1 file processed")
    expect(page.locator("#items")).to_contain_text("fundus-1.jpg")
    expect(page.get_by_role("link", name="View Results")).to_be_hidden()
    screenshot(page, "processing")
    # The page must have asked once before any work is done: a worker now starts in under a
    # second, which could otherwise finish the job before the first poll.
    deadline = time.monotonic() + 15
    while not statuses and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert statuses, "the processing page never asked for the job's status"

    workers.start()
    page.wait_for_url(f"**/direct/upload/results/{job.id}", timeout=30_000)
    assert statuses[0] in ("queued", "processing") and statuses[-1] == "done", statuses

    # Every file chosen is counted once: the browser's left-outs as a duplicate and a failure.
    expect(page.locator("#outcome")).to_have_text(
        "1 of 3 stored; 1 was already stored; 1 failed. "
        "2 of them were left out by the browser before upload."
    )
    expect(page.locator("#total")).to_have_text("3")
    expect(page.locator("#succeeded")).to_have_text("1")
    expect(page.locator("#duplicates")).to_have_text("1")
    expect(page.locator("#failed")).to_have_text("1")
    expect(page.locator("#rejected")).to_have_text("2")
    failures = page.locator("#failures tbody tr")
    expect(failures).to_have_count(1)
    expect(failures.filter(has_text="notes.jpg")).to_contain_text(INVALID_TEXT)
    every = page.locator("#all-files tbody tr")
    expect(every.filter(has_text="already-stored.jpg")).to_contain_text("Duplicate file")
    thumbnail = page.get_by_role("img", name="Thumbnail of fundus-1.jpg")
    expect(thumbnail).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    screenshot(page, "results")

    # Only the one good file travelled; the browser's rejections are on the job.
    assert [i.filename for i in job.items.all()] == ["fundus-1.jpg"]
    assert job.items.get().state == ItemState.COMPLETED
    assert sorted(r["filename"] for r in UploadJob.objects.get().rejected) == [
        "already-stored.jpg",
        "notes.jpg",
    ]
    stored = Image.objects.get(original_filename="fundus-1.jpg")
    assert stored.md5 == hashlib.md5(fundus_jpeg(seed=1)).hexdigest()
    assert stored.mydriatic and stored.area == world.left and stored.camera == world.topcon
    assert Image.objects.filter(hospital=world.st_lucia).count() == 2


def test_it_remembers_the_last_selections_after_reload(pages, world):
    world.alice.lab_units.add(world.screening, world.outpatients)
    page = pages.new()
    sign_in(page)
    fill_form(page, "Northgate", "Outpatients", "Canon CR-2", "Glaucoma", "Right eye")
    page.get_by_text("Mydriatic", exact=True).click()  # the word beside the switch sets it too

    for fresh in (pages.new(context=page.context), page):
        if fresh is page:
            page.reload()
        else:
            fresh.goto("/direct/upload")
        expect(fresh.get_by_label("Northgate")).to_be_checked()
        expect(fresh.get_by_label("Lab Unit")).to_have_value(str(world.outpatients.pk))
        expect(fresh.get_by_label("Camera")).to_have_value(str(world.canon.pk))
        expect(fresh.get_by_label("Disease")).to_have_value(str(world.glaucoma.pk))
        expect(fresh.get_by_label("Area")).to_have_value(str(world.right.pk))
        expect(fresh.get_by_role("switch", name="Mydriatic")).to_be_checked()

    # Someone else signing in on this computer does not get alice's choices.
    other = pages.new()
    sign_in(other, "mary")
    expect(other.get_by_label("Camera")).to_have_value("")
    expect(other.get_by_role("switch", name="Mydriatic")).not_to_be_checked()


def test_the_lab_unit_list_shows_only_the_chosen_hospitals_units(pages, world):
    world.alice.lab_units.add(world.screening, world.outpatients)
    page = pages.new()
    sign_in(page)
    units = page.get_by_label("Lab Unit")
    expect(units).to_be_disabled()
    expect(units.locator("option")).to_have_text(["Choose a hospital first"])

    page.locator(".pill", has_text="St Lucia").click()
    expect(units).to_be_enabled()
    expect(units.locator("option")).to_have_text(["Choose a lab unit…", "Retina", "Screening"])
    units.select_option(label="Screening")

    page.get_by_label("St Lucia").focus()
    page.keyboard.press("ArrowLeft")  # the pills are a radio group: arrow keys move the choice
    expect(page.get_by_label("Northgate")).to_be_checked()
    expect(units.locator("option")).to_have_text(["Choose a lab unit…", "Outpatients"])
    expect(units).to_have_value(str(world.outpatients.pk))  # the only one, so chosen

    page.locator(".pill", has_text="St Lucia").click()
    expect(units).to_have_value("")  # Outpatients is not a St Lucia unit


def test_duplicates_are_judged_for_the_chosen_hospital(pages, world):
    world.alice.lab_units.add(world.outpatients)
    northgate_image = fundus_jpeg(seed=40)
    store_image(world, northgate_image, lab_unit=world.outpatients)
    page = pages.new()
    sign_in(page)
    page.locator(".pill", has_text="St Lucia").click()
    drop_files(page, [("x.jpg", northgate_image, JPEG)])
    status = row(page, "x.jpg").locator(".status")
    expect(status).to_have_text("Ready")

    page.locator(".pill", has_text="Northgate").click()
    expect(status).to_have_text("Duplicate file")
    expect(page.locator("#notice")).to_contain_text("Nothing is left to upload.")
    page.get_by_role("button", name="Upload Images").click()
    expect(page.locator("#form-error")).to_have_text("All fields are required")

    page.locator(".pill", has_text="St Lucia").click()
    expect(status).to_have_text("Ready")
    expect(page.locator("#notice")).to_be_hidden()


def test_the_upload_goes_ahead_when_the_duplicate_check_is_unavailable(pages, world):
    page = pages.new()
    page.route("**/api/direct-upload/duplicates", lambda route: route.abort())
    sign_in(page)
    fill_form(page)
    page.locator("#files").set_input_files(
        [{"name": "a.jpg", "mimeType": JPEG, "buffer": fundus_jpeg(seed=50)}]
    )
    expect(row(page, "a.jpg").locator(".status")).to_have_text(
        "Ready (duplicate check unavailable)"
    )
    page.get_by_role("button", name="Upload Images").click()
    page.wait_for_url("**/direct/upload/processing/*")
    assert [i.filename for i in UploadJob.objects.get().items.all()] == ["a.jpg"]


def test_it_checks_files_in_the_browser_and_sends_only_those_that_pass(pages, world, settings):
    settings.DIRECT_UPLOAD_MAX_FILE_SIZE_MB = 1
    settings.DIRECT_UPLOAD_MAX_FILES = 3
    page = pages.new(viewport={"width": 820, "height": 1180})  # a tablet, portrait
    sign_in(page)
    fill_form(page)
    page.get_by_label("Area").select_option("")
    files = page.locator("#files")
    files.set_input_files(
        [
            {"name": "a.jpg", "mimeType": JPEG, "buffer": fundus_jpeg(seed=10)},
            {"name": "b.jpg", "mimeType": JPEG, "buffer": fundus_png(seed=11)},  # a PNG really
            {"name": "c.jpg", "mimeType": JPEG, "buffer": fundus_jpeg(seed=12)},
        ]
    )
    files.set_input_files(  # the same file chosen again, one too large, one over the cap
        [
            {"name": "a.jpg", "mimeType": JPEG, "buffer": fundus_jpeg(seed=10)},
            {"name": "big.jpg", "mimeType": JPEG, "buffer": noisy_jpeg()},
            {"name": "d.png", "mimeType": PNG, "buffer": fundus_png(seed=13)},
        ]
    )
    statuses = page.locator("#file-list li .status")
    expect(statuses).to_have_text(
        [
            "Ready",
            "Ready",
            "Ready",
            "Duplicate file",
            "File too large (max 1MB)",
            "Too many files (max 3 per upload)",
        ]
    )
    screenshot(page, "upload-form-tablet")

    page.get_by_role("button", name="Remove c.jpg").press("Enter")
    expect(page.get_by_role("button", name="Remove a.jpg").nth(1)).to_be_focused()
    expect(statuses).to_have_text(
        ["Ready", "Ready", "Duplicate file", "File too large (max 1MB)", "Ready"]
    )
    expect(page.get_by_role("button", name="Remove big.jpg")).to_be_visible()

    page.get_by_role("button", name="Upload Images").click()
    expect(page.locator("#form-error")).to_have_text("All fields are required")
    expect(page.get_by_label("Area")).to_be_focused()
    assert not UploadJob.objects.exists()

    page.get_by_label("Area").select_option(label="Both eyes")
    page.get_by_role("button", name="Upload Images").click()
    page.wait_for_url("**/direct/upload/processing/*")
    job = UploadJob.objects.get()
    assert [i.filename for i in job.items.order_by("position")] == ["a.jpg", "b.jpg", "d.png"]
    assert job.rejected == [
        {"filename": "a.jpg", "reason": "Duplicate file"},
        {"filename": "big.jpg", "reason": "File too large (max 1MB)"},
    ]
    assert not job.mydriatic


def test_the_progress_bar_shows_the_bytes_sent(pages, world):
    page = pages.new()
    sign_in(page)
    fill_form(page)
    page.locator("#files").set_input_files(
        [{"name": "large.jpg", "mimeType": JPEG, "buffer": noisy_jpeg()}]
    )
    expect(row(page, "large.jpg").locator(".status")).to_have_text("Ready")
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 400_000},
    )
    page.get_by_role("button", name="Upload Images").click()
    bar = page.get_by_role("progressbar", name="Upload progress")
    expect(bar).to_be_visible()
    page.wait_for_function(
        "() => { const n = +document.getElementById('send-progress').getAttribute('aria-valuenow');"
        " return n > 0 && n < 100; }"
    )
    expect(page.locator("#send-status")).to_contain_text(
        re.compile(r"Sending… \d+% \(.* of .* MB\)")
    )
    expect(page.get_by_role("button", name="Uploading…")).to_be_disabled()
    screenshot(page, "upload-sending")
    page.wait_for_url("**/direct/upload/processing/*", timeout=30_000)


def test_a_refusal_from_the_server_is_shown_as_an_alert(pages, world):
    page = pages.new()
    sign_in(page)
    fill_form(page)
    page.locator("#files").set_input_files(
        [{"name": "a.jpg", "mimeType": JPEG, "buffer": fundus_jpeg(seed=20)}]
    )
    expect(row(page, "a.jpg").locator(".status")).to_have_text("Ready")
    world.alice.lab_units.remove(world.retina)  # an administrator changes her assignment

    page.get_by_role("button", name="Upload Images").click()
    expect(page.get_by_role("alert")).to_have_text("You don't have access to the selected lab unit")
    expect(page).to_have_url(re.compile(r"/direct/upload$"))
    expect(page.get_by_role("button", name="Upload Images")).to_be_enabled()
    assert not UploadJob.objects.exists()


def test_the_form_works_without_javascript(pages, world, workers):
    page = pages.new(javascript=False)
    sign_in(page)
    fill_form(page)
    page.locator("#files").set_input_files(
        [
            {"name": "plain.jpg", "mimeType": JPEG, "buffer": fundus_jpeg(seed=30)},
            {"name": "notes.jpg", "mimeType": JPEG, "buffer": b"just text\n"},
        ]
    )
    page.get_by_role("button", name="Upload Images").click()
    page.wait_for_url("**/direct/upload/processing/*")
    expect(page.locator("#items tr")).to_have_count(2)

    workers.start()
    # The page refreshes itself every 3 s, and goes to the results once the job is finished.
    page.wait_for_url("**/direct/upload/results/*", timeout=30_000)
    expect(page.locator("#total")).to_have_text("2")
    expect(page.locator("#succeeded")).to_have_text("1")
    expect(page.locator("#failed")).to_have_text("1")
    expect(page.locator("#failures")).to_contain_text(INVALID_TEXT)
