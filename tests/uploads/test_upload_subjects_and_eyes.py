"""POST /direct/upload with a subject and an eye per file: typed, from the file names, from a
manifest, or chosen per file; checked against the subject registry before the bytes are taken."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fundushub.camera.models import Subject
from fundushub.store import streaming
from fundushub.store.models import Image
from fundushub.uploads.models import UploadJob
from tests import multipart
from tests.conftest import form_data, fundus_jpeg, run_worker

URL = "/direct/upload"


def jpg(name, seed=0):
    return SimpleUploadedFile(name, fundus_jpeg(seed), "image/jpeg")


def upload(client, world, names, **fields):
    """Posts the form's fields first, then the files, as the page does; runs the worker."""
    files = [jpg(name, seed) for seed, name in enumerate(names)]
    response = client.post(URL, {**form_data(world), **fields, "files": files})
    run_worker()
    return response


def stored(name) -> Image:
    return Image.objects.get(original_filename=name)


def leftovers(media_root) -> list:
    return sorted(p.name for p in (media_root / "staging").rglob("*") if p.is_file())


@pytest.fixture
def alice(client, world):
    client.force_login(world.alice)
    return client


@pytest.fixture
def registry(world):
    """St Lucia keeps a subject registry (the camera app's) with two subjects."""
    for identifier in ("105-10-0989-3", "105-10-0989-4"):
        Subject.objects.create(subject_identifier=identifier, site=world.st_lucia)


@pytest.fixture
def staged(monkeypatch):
    """The keys of every staging file opened, to show a refusal came before the first byte."""
    opened, writer = [], streaming.blobs.writer
    monkeypatch.setattr(streaming.blobs, "writer", lambda key: opened.append(key) or writer(key))
    return opened


def test_a_form_without_subjects_or_eyes_stores_as_it_always_did(alice, world):
    response = upload(alice, world, ["105-10-0989-3_R.jpg"])
    assert response.status_code == 303
    image = stored("105-10-0989-3_R.jpg")
    assert image.subject_identifier == "" and image.area == world.left  # the job's area


def test_a_typed_subject_reaches_every_stored_image(alice, world):
    upload(alice, world, ["a.jpg", "b.jpg"], subject_source="typed", subject=" P-0042 ")
    assert {stored(n).subject_identifier for n in ("a.jpg", "b.jpg")} == {"P-0042"}


def test_a_subject_typed_without_a_source_is_taken_as_typed(alice, world):
    upload(alice, world, ["a.jpg"], subject="P-0042")
    assert stored("a.jpg").subject_identifier == "P-0042"


def test_subjects_read_from_the_file_names_reach_the_stored_images(alice, world):
    names = ["105-10-0989-3_L.jpg", "scan 105-10-0989-4.jpg", "IMG_0001.jpg"]
    upload(alice, world, names, subject_source="filename")
    assert [stored(n).subject_identifier for n in names] == ["105-10-0989-3", "105-10-0989-4", ""]


def test_a_pattern_sent_with_the_upload_reads_the_subjects(alice, world):
    upload(
        alice,
        world,
        ["P0042_L.jpg"],
        subject_source="filename",
        subject_pattern=r"^(?P<subject>P\d+)_",
    )
    assert stored("P0042_L.jpg").subject_identifier == "P0042"


def test_eyes_read_from_the_file_names_reach_the_stored_images(alice, world):
    names = ["x_L.jpg", "x_OD.jpg", "BLEFT.jpg"]
    upload(alice, world, names, eye_from_name="on", area=world.left.pk)
    assert [stored(n).area.code for n in names] == ["left", "right", "left"]  # BLEFT: the job's


def test_per_file_subjects_and_eyes_reach_the_stored_images(alice, world):
    names = ["a.jpg", "b.jpg", "c.jpg"]
    upload(
        alice,
        world,
        names,
        subject_source="typed",
        subject="P1",
        file_subject=["", "P2", ""],
        file_eye=["right", "", "both"],
    )
    got = [(stored(n).subject_identifier, stored(n).area.code) for n in names]
    assert got == [("P1", "right"), ("P2", "left"), ("P1", "both")]


def test_an_unknown_eye_is_stored_without_an_area(alice, world):
    upload(alice, world, ["a.jpg", "b.jpg"], file_eye=["unknown", ""])
    assert stored("a.jpg").area is None and stored("b.jpg").area == world.left
    item = UploadJob.objects.get().items.get(position=0)
    assert item.eye_unknown and item.area is None


def test_a_manifest_gives_each_file_its_subject_and_eye(alice, world):
    manifest = "filename,subject,eye\na.jpg,P1,R\nb.jpg,P2,unknown\n"
    upload(alice, world, ["a.jpg", "b.jpg", "c.jpg"], subject_source="manifest", manifest=manifest)
    assert (stored("a.jpg").subject_identifier, stored("a.jpg").area.code) == ("P1", "right")
    assert (stored("b.jpg").subject_identifier, stored("b.jpg").area) == ("P2", None)
    assert (stored("c.jpg").subject_identifier, stored("c.jpg").area) == ("", world.left)


def test_a_registry_that_knows_the_subjects_lets_the_upload_through(alice, world, registry):
    response = upload(alice, world, ["105-10-0989-3_L.jpg"], subject_source="filename")
    assert response.status_code == 303
    assert stored("105-10-0989-3_L.jpg").subject_identifier == "105-10-0989-3"


def test_an_unknown_typed_subject_is_refused_before_a_byte_is_staged(
    alice, world, registry, staged, isolated_storage
):
    response = alice.post(
        URL,
        {**form_data(world), "subject": "105-10-0989-9", "files": [jpg("a.jpg")]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Not uploaded: 1 subject is not in the subject registry of St Lucia: 105-10-0989-9. "
        "Check the identifiers, or register the subjects first."
    )
    assert staged == [] and leftovers(isolated_storage) == []
    assert not UploadJob.objects.exists()


def test_an_unknown_per_file_subject_is_refused_before_a_byte_is_staged(
    alice, world, registry, staged
):
    response = alice.post(
        URL,
        {
            **form_data(world),
            "file_subject": ["105-10-0989-3", "X1"],
            "files": [jpg("a"), jpg("b")],
        },
    )
    assert response.status_code == 400
    assert "registry of St Lucia: X1." in response.content.decode()  # the form, with the message
    assert staged == [] and not UploadJob.objects.exists()


def test_an_unknown_subject_in_the_manifest_is_refused_before_a_byte_is_staged(
    alice, world, registry, staged
):
    manifest = "filename,subject\na.jpg,105-10-0989-3\nb.jpg,X1\nc.jpg,X2\n"
    response = alice.post(
        URL,
        {
            **form_data(world),
            "subject_source": "manifest",
            "manifest": manifest,
            "files": jpg("a.jpg"),
        },
    )
    assert response.status_code == 400
    assert "2 subjects are not in the subject registry of St Lucia: X1, X2." in (
        response.content.decode()
    )
    assert staged == []


def test_an_unknown_subject_read_from_a_name_is_refused_and_nothing_is_kept(
    alice, world, registry, isolated_storage
):
    names = ["105-10-0989-3_L.jpg", "105-10-0989-7_R.jpg"]
    response = alice.post(
        URL,
        {**form_data(world), "subject_source": "filename", "files": [jpg(n) for n in names]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert "registry of St Lucia: 105-10-0989-7." in response.json()["error"]
    assert leftovers(isolated_storage) == [] and not UploadJob.objects.exists()


def test_subjects_sent_after_the_files_are_checked_all_the_same(
    alice, world, registry, isolated_storage
):
    raw = multipart.body(
        *[multipart.field(k, str(v)) for k, v in form_data(world).items()],
        multipart.file("files", "a.jpg", fundus_jpeg(1)),
        multipart.field("subject", "X1"),
    )
    response = alice.post(URL, data=raw, content_type=multipart.CONTENT_TYPE)
    assert response.status_code == 400
    assert "registry of St Lucia: X1." in response.content.decode()
    assert leftovers(isolated_storage) == [] and not UploadJob.objects.exists()


def test_another_hospitals_registry_is_not_asked(alice, world):
    Subject.objects.create(subject_identifier="N1", site=world.northgate)
    response = upload(alice, world, ["a.jpg"], subject="S1")
    assert response.status_code == 303 and stored("a.jpg").subject_identifier == "S1"


def test_a_hospital_that_is_not_yours_is_not_asked_before_the_files(alice, world, staged):
    # Refused as before (no access to the lab unit), without telling which subjects exist there.
    Subject.objects.create(subject_identifier="N1", site=world.northgate)
    response = alice.post(
        URL,
        {
            **form_data(world, hospital=world.northgate.pk, lab_unit=world.outpatients.pk),
            "subject": "X1",
            "files": jpg("a.jpg"),
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "You don&#x27;t have access to the selected lab unit" in body and "X1" not in body


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"subject": "a b"}, "The subject &#x27;a b&#x27; is not a valid identifier"),
        ({"subject_source": "typed"}, "Type the subject identifier for these images."),
        ({"subject_source": "filename", "subject_pattern": "("}, "The subject pattern cannot be"),
        ({"subject_source": "filename", "subject_pattern": "(a+)+"}, "not a group"),
        ({"subject_source": "manifest", "manifest": "name\nx\n"}, "first row must name its"),
        ({"subject_source": "manifest"}, "Add the manifest"),
        ({"subject_source": "tarot"}, "The subject source must be one of"),
        ({"file_eye": "middle"}, "File 1: the eye &#x27;middle&#x27; is not left"),
        ({"file_subject": "x/y"}, "File 1: The subject &#x27;x/y&#x27;"),
    ],
)
def test_subjects_and_eyes_it_cannot_use_are_refused_with_a_message(
    alice, world, isolated_storage, fields, message
):
    response = alice.post(URL, {**form_data(world), **fields, "files": jpg("a.jpg")})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert leftovers(isolated_storage) == [] and not UploadJob.objects.exists()


def test_per_file_fields_that_do_not_match_the_files_are_refused_and_nothing_is_kept(
    alice, world, isolated_storage
):
    response = alice.post(
        URL,
        {**form_data(world), "file_eye": ["left"], "files": [jpg("a.jpg"), jpg("b.jpg", 1)]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "The per-file eyes do not match the files: 1 for 2 files. Nothing was uploaded."
    )
    assert leftovers(isolated_storage) == [] and not UploadJob.objects.exists()


def test_a_duplicate_keeps_the_stored_images_subject_and_eye(alice, world):
    upload(alice, world, ["a.jpg"], subject="P1", file_eye=["right"])
    alice.post(URL, {**form_data(world), "subject": "P2", "files": jpg("again.jpg")})
    run_worker()
    image = Image.objects.get()
    assert (image.subject_identifier, image.area.code) == ("P1", "right")
