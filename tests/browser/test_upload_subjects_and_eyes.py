"""Each file's subject and eye on the upload form, in a real browser: labels.js reads names and
manifests as the server does, shows what each file will be, and the upload stores just that."""

import re

import pytest
from playwright.sync_api import expect

from fundushub.camera.models import Subject
from fundushub.lib.eyes import eye_in_filename
from fundushub.store.models import Image
from fundushub.uploads.manifest import parse_manifest
from fundushub.uploads.models import UploadJob
from fundushub.uploads.subjects import InvalidLabel, clean_subject
from tests.browser.conftest import drop_files, screenshot, sign_in
from tests.browser.test_direct_upload import fill_form, row
from tests.conftest import fundus_jpeg
from tests.lib.test_eyes import NAMES

pytestmark = pytest.mark.browser

JPEG = "image/jpeg"
MANIFESTS = [
    "filename,subject,eye\na.jpg,105-10-0989-3,L\nB.JPG,P2,unknown\nc.jpg,,OU\n",
    "Eye;Notes;SUBJECT;FileName\nright;seen twice;S1;a.jpg\n",
    '\ufefffilename,subject\r\n\r\n"a, b.jpg", S1 \r\n,,\r\n',
    "",
    "name,patient\na.jpg,S1\n",
    "filename,subject\n,S1\n",
    "filename,subject\na.jpg,S 1\n",
    "filename,subject,eye\na.jpg,S1,middle\n",
    "filename,subject\na.jpg,S1\nA.JPG,S2\n",
    "filename,subject\n" + "x" * 256 + ",S1\n",
]
SUBJECTS = ["105-10-0989-3", " P1 ", "a b", "a/b", "-x", "Ünal-7", "9" * 50, "9" * 51, ""]


def server_manifest(text):
    try:
        rows = parse_manifest(text)
    except InvalidLabel as e:
        return {"rows": {}, "error": str(e)}
    return {"rows": {k: {"subject": r.subject, "eye": r.eye} for k, r in rows.items()}, "error": ""}


def server_subject(raw):
    try:
        return {"value": clean_subject(raw), "error": ""}
    except InvalidLabel as e:
        return {"value": raw.strip(), "error": str(e)}


@pytest.fixture
def rules(page, live_server):
    page.goto("/accounts/login/")
    page.add_script_tag(url="/static/fundushub/labels.js")
    return page


def test_the_browser_reads_eyes_from_names_as_the_server_does(rules):
    names = [name for name, _ in NAMES] + ["Fundus_OU.jpg", "OU_L.jpg", "x_re.png"]
    got = rules.evaluate("names => names.map(n => FundusLabels.eyeInFilename(n))", names)
    assert got == [eye_in_filename(name) for name in names]


def test_the_browser_reads_manifests_as_the_server_does(rules):
    got = rules.evaluate("texts => texts.map(t => FundusLabels.parseManifest(t))", MANIFESTS)
    assert got == [server_manifest(text) for text in MANIFESTS]


def test_the_browser_checks_identifiers_as_the_server_does(rules):
    got = rules.evaluate("raws => raws.map(r => FundusLabels.cleanSubject(r))", SUBJECTS)
    assert got == [server_subject(raw) for raw in SUBJECTS]


def test_subjects_and_eyes_from_the_names_and_the_list_reach_the_stored_images(
    pages, world, workers
):
    page = pages.new()
    sign_in(page)
    fill_form(page)
    page.locator(".pill", has_text="From each file name").click()
    drop_files(
        page,
        [
            ("105-10-0989-3_L.jpg", fundus_jpeg(seed=1), JPEG),
            ("105-10-0989-4 OD.jpg", fundus_jpeg(seed=2), JPEG),
            ("BLEFT.jpg", fundus_jpeg(seed=3), JPEG),
        ],
    )
    first = row(page, "105-10-0989-3_L.jpg")
    expect(first.get_by_label("Subject of")).to_have_attribute(
        "placeholder", "105-10-0989-3 (from the name)"
    )
    expect(first.get_by_label("Eye of").locator("option").first).to_have_text(
        "Left eye (from the name)"
    )
    bleft = row(page, "BLEFT.jpg")
    expect(bleft.get_by_label("Subject of")).to_have_attribute(
        "placeholder", "No subject (none in the name)"
    )
    expect(bleft.get_by_label("Eye of").locator("option").first).to_have_text(
        "Left eye (area chosen above)"
    )
    bleft.get_by_label("Subject of").fill("P-7")
    bleft.get_by_label("Eye of").select_option("unknown")
    expect(bleft.locator(".badge-eye-unknown")).to_be_visible()
    row(page, "105-10-0989-4 OD.jpg").get_by_label("Eye of").select_option("both")
    screenshot(page, "upload-subjects-and-eyes")

    page.get_by_role("button", name="Upload Images").click()
    page.wait_for_url(re.compile(r"/direct/upload/processing/[0-9a-f-]{36}$"))
    expect(page.locator("#items")).to_contain_text("Unknown eye")
    workers.start()
    job = UploadJob.objects.get()
    page.wait_for_url(f"**/direct/upload/results/{job.id}", timeout=30_000)
    expect(page.locator("#all-files")).to_contain_text("105-10-0989-4")
    screenshot(page, "upload-subjects-and-eyes-results")
    got = {
        i.original_filename: (i.subject_identifier, i.area.code if i.area else None)
        for i in Image.objects.all()
    }
    assert got == {
        "105-10-0989-3_L.jpg": ("105-10-0989-3", "left"),
        "105-10-0989-4 OD.jpg": ("105-10-0989-4", "both"),
        "BLEFT.jpg": ("P-7", None),
    }


def test_a_manifest_dropped_with_the_images_names_their_subjects(pages, world):
    page = pages.new()
    sign_in(page)
    fill_form(page)
    manifest = b"filename,subject,eye\na.jpg,P1,R\nb.jpg,P2,\n"
    drop_files(
        page,
        [
            ("list.csv", manifest, "text/csv"),
            ("a.jpg", fundus_jpeg(seed=1), JPEG),
            ("b.jpg", fundus_jpeg(seed=2), JPEG),
        ],
    )
    expect(page.get_by_label("From a CSV manifest")).to_be_checked()
    expect(page.get_by_label("Manifest (CSV)")).to_have_value(manifest.decode())
    expect(page.locator("#file-list li")).to_have_count(2)  # the manifest is not an image
    expect(row(page, "a.jpg").get_by_label("Subject of")).to_have_attribute(
        "placeholder", "P1 (from the manifest)"
    )
    expect(row(page, "a.jpg").get_by_label("Eye of").locator("option").first).to_have_text(
        "Right eye (from the manifest)"
    )

    page.get_by_label("Manifest (CSV)").fill("filename,subject\na.jpg,P 1\n")
    expect(page.locator("#manifest-error")).to_have_text(
        "Manifest line 2: The subject 'P 1' is not a valid identifier: use at most 50 letters, "
        'digits, "-", "_" or ".", starting with a letter or digit.'
    )
    page.get_by_role("button", name="Upload Images").click()
    expect(page.locator("#form-error")).to_contain_text("Manifest line 2")
    assert not UploadJob.objects.exists()


def test_subjects_the_registry_does_not_know_are_shown_and_nothing_is_sent(pages, world):
    Subject.objects.create(subject_identifier="105-10-0989-3", site=world.st_lucia)
    page = pages.new()
    sign_in(page)
    fill_form(page)
    page.locator(".pill", has_text="One subject for all files").click()
    page.get_by_label("Subject identifier").fill("105-10-0989-9")
    drop_files(page, [("a.jpg", fundus_jpeg(seed=1), JPEG)])
    expect(row(page, "a.jpg").locator(".label-note")).to_have_text(
        "Not in the subject registry of St Lucia"
    )
    page.get_by_role("button", name="Upload Images").click()
    expect(page.locator("#form-error")).to_have_text(
        "Not uploaded: 1 subject is not in the subject registry of St Lucia: 105-10-0989-9. "
        "Check the identifiers, or register the subjects first."
    )
    assert not UploadJob.objects.exists()

    page.get_by_label("Subject identifier").fill("105-10-0989-3")
    expect(row(page, "a.jpg").locator(".label-note")).to_have_text("")
    expect(page.locator("#form-error")).to_be_hidden()
