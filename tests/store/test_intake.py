"""The store's one door (store/intake.add_image): bytes are durable before any row refers to them.

A crash is injected in place of each step of the protocol, and the invariant is checked after it:
no Image row without its original and its thumbnail on storage. A retry then completes with one
row. The order of fsyncs, renames and the INSERT is recorded as it happens, and a competing insert
is forced between the existence check and the insert, so none of this depends on timing.
"""

import hashlib
import os
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from fundushub.accounts.models import User
from fundushub.store import blobs, intake
from fundushub.store.intake import Incoming, add_image
from fundushub.store.models import Image
from fundushub.store.sniff import sniff
from fundushub.uploads.ingest import DUPLICATE, process_item
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from fundushub.uploads.tasks import claim_next
from tests.conftest import form_data, fundus_jpeg, fundus_png, run_worker

# The points a crash is injected at: in place of each step, and after the insert (before commit).
STEPS = ["decode", "thumbnail", "original", "insert", "after insert"]


class Crash(BaseException):
    """Stands for the process dying: nothing in the store or the caller catches it."""


def staged(data: bytes) -> Incoming:
    """A direct upload's file, as streaming left it: durable in staging, digests computed."""
    key = f"staging/{uuid.uuid4().hex}"
    blobs.write_bytes(key, data)
    return _incoming(data, key=key)


def in_memory(data: bytes) -> Incoming:
    """A DICOM's preview: the bytes themselves."""
    return _incoming(data, data=data)


def _incoming(content: bytes, **where) -> Incoming:
    md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
    sha256 = hashlib.sha256(content).hexdigest()
    return Incoming(sha256, md5, sniff(content[:512]), len(content), **where)


KINDS = {"staged": (staged, fundus_jpeg), "bytes": (in_memory, fundus_png)}


def fields(world, **overrides) -> dict:
    return {
        "source": Image.Source.CAMERA,
        "hospital_id": world.st_lucia.pk,
        "lab_unit": world.retina,
        "original_filename": "fundus.jpg",
        **overrides,
    }


def assert_no_row_without_its_bytes():
    for image in Image.objects.all():
        assert blobs.exists(image.original_key), f"{image.pk} has no original"
        assert blobs.exists(image.thumbnail_key), f"{image.pk} has no thumbnail"


BLOB_STEPS = {"thumbs": "thumbnail", "originals": "original"}


@pytest.fixture
def crash_at(monkeypatch):
    """crash_at(step): the process dies once, at that step; later calls run normally."""

    def arm(step):
        armed = [True]

        def fire(name):
            if armed[0] and name == step:
                armed[0] = False
                raise Crash(step)

        def instead(module, name, step_of):
            real = getattr(module, name)

            def crashing(*args, **kwargs):
                fire(step_of(*args, **kwargs))
                return real(*args, **kwargs)

            monkeypatch.setattr(module, name, crashing)

        instead(intake, "decode_with_thumbnail", lambda *args: "decode")
        instead(blobs, "write_bytes", lambda key, data: BLOB_STEPS.get(key.split("/")[0]))
        instead(blobs, "move_into_place", lambda src, key: BLOB_STEPS.get(key.split("/")[0]))
        instead(intake, "insert_or_existing", lambda **row: "insert")
        insert = intake.insert_or_existing

        def insert_then_crash(**row):
            result = insert(**row)
            fire("after insert")  # inside the transaction: the row is rolled back
            return result

        monkeypatch.setattr(intake, "insert_or_existing", insert_then_crash)

    return arm


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("step", STEPS)
def test_a_crash_at_any_step_leaves_no_row_without_its_bytes_and_a_retry_stores_it_once(
    world, crash_at, kind, step
):
    make, picture = KINDS[kind]
    incoming = make(picture(1))
    crash_at(step)
    with pytest.raises(Crash):
        add_image(incoming, fields(world))
    assert_no_row_without_its_bytes()

    image, created = add_image(incoming, fields(world))
    assert created and Image.objects.get() == image
    assert_no_row_without_its_bytes()
    with blobs.open_blob(image.original_key) as f:
        assert f.read() == picture(1)


@pytest.mark.parametrize("step", STEPS)
def test_an_upload_item_whose_worker_crashed_at_any_step_is_stored_once_by_the_retry(
    client, world, crash_at, step
):
    client.force_login(world.alice)
    files = [SimpleUploadedFile("a.jpg", fundus_jpeg(2), "image/jpeg")]
    client.post("/direct/upload", {**form_data(world), "files": files})
    item = claim_next(UploadJob.objects.get().id)
    crash_at(step)
    with pytest.raises(Crash):
        process_item(item)
    assert_no_row_without_its_bytes()

    UploadItem.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    run_worker()
    item.refresh_from_db()
    assert item.state == ItemState.COMPLETED and item.image == Image.objects.get()
    assert_no_row_without_its_bytes()
    assert User.objects.get(pk=world.alice.pk).file_upload_count == 1


# --- the order in which bytes become durable and the row is inserted ---------------------------


@pytest.fixture
def journal(monkeypatch):
    """Every fsync (by inode), rename (by destination) and INSERT of an image row, in order."""
    events, table = [], Image._meta.db_table
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        real_fsync(fd)
        st = os.fstat(fd)
        events.append(("fsync", (st.st_dev, st.st_ino)))

    def replace(src, dst, **kwargs):
        real_replace(src, dst, **kwargs)
        events.append(("rename", os.path.realpath(dst)))

    def on_sql(execute, sql, params, many, context):
        if sql.split()[:3] == ["INSERT", "INTO", connection.ops.quote_name(table)]:
            events.append(("insert", table))
        return execute(sql, params, many, context)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with connection.execute_wrapper(on_sql):
        yield events


def when(events, event) -> int:
    assert event in events, f"{event} never happened"
    return events.index(event)


def durable(events, path) -> int:
    """When a rename to path became durable: the first fsync of its directory after it."""
    renamed = when(events, ("rename", path))
    folder = ("fsync", inode(os.path.dirname(path)))
    assert folder in events[renamed:], f"the rename to {path} was never made durable"
    return events.index(folder, renamed)


def inode(path) -> tuple:
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


@pytest.mark.parametrize("kind", KINDS)
def test_the_thumbnail_and_the_original_are_durable_before_the_row_is_inserted(
    world, journal, kind
):
    make, picture = KINDS[kind]
    image, _ = add_image(make(picture(3)), fields(world))
    insert = when(journal, ("insert", Image._meta.db_table))
    thumb = os.path.realpath(blobs.local_path(image.thumbnail_key))
    original = os.path.realpath(blobs.local_path(image.original_key))

    assert when(journal, ("fsync", inode(thumb))) < when(journal, ("rename", thumb))
    assert durable(journal, thumb) < insert
    renamed = when(journal, ("rename", original))
    assert durable(journal, original) < insert
    if kind != "staged":  # written here: its bytes synced before the rename publishes them
        assert when(journal, ("fsync", inode(original))) < renamed


# --- a competing insert between the existence check and the insert ----------------------------


@pytest.fixture
def competitor(world, monkeypatch):
    """Another request stores the same bytes for St Lucia right after the existence check."""
    real, stored = intake._decode_and_thumbnail, []

    def decode_while_another_stores(incoming, *args):
        if not stored:
            stored.append(None)  # the other request's own decode runs as usual
            other = add_image(in_memory(fundus_jpeg(4)), fields(world, original_filename="other"))
            stored[0] = other[0]
        return real(incoming, *args)

    monkeypatch.setattr(intake, "_decode_and_thumbnail", decode_while_another_stores)
    return stored


def test_an_insert_that_loses_the_race_returns_the_winners_row(world, competitor):
    seen = []
    image, created = add_image(
        staged(fundus_jpeg(4)), fields(world), within=lambda i, c: seen.append((i, c))
    )
    assert (image, created) == (competitor[0], False)
    assert Image.objects.get() == competitor[0]
    assert seen == [(competitor[0], False)]
    assert_no_row_without_its_bytes()


def test_an_upload_that_loses_the_race_is_a_duplicate_and_gives_its_quota_back(
    client, world, competitor
):
    client.force_login(world.alice)
    files = [SimpleUploadedFile("a.jpg", fundus_jpeg(4), "image/jpeg")]
    client.post("/direct/upload", {**form_data(world), "files": files})
    item = claim_next(UploadJob.objects.get().id)

    assert process_item(item) == ItemState.DUPLICATE
    item.refresh_from_db()
    assert (item.state, item.detail, item.image) == (ItemState.DUPLICATE, DUPLICATE, competitor[0])
    assert Image.objects.count() == 1
    assert not item.quota_held
    assert User.objects.get(pk=world.alice.pk).file_upload_count == 0


# --- found by mutation testing (mutmut): a copy, and a race among other rows ---------------------


def test_a_copy_of_a_stored_image_is_neither_admitted_nor_decoded_nor_written_again(
    world, monkeypatch
):
    image, _ = add_image(in_memory(fundus_png(5)), fields(world))
    touched, admitted, seen = [], [], []
    monkeypatch.setattr(intake, "decode_with_thumbnail", lambda *a: touched.append("decode"))
    monkeypatch.setattr(blobs, "write_bytes", lambda *a: touched.append("write"))
    monkeypatch.setattr(blobs, "move_into_place", lambda *a: touched.append("move"))

    again = add_image(
        in_memory(fundus_png(5)),
        fields(world, original_filename="copy.png"),
        admit=lambda: admitted.append("asked") or False,  # the quota is used up: still a copy
        within=lambda i, c: seen.append((i, c)),
    )
    assert again == (image, False)
    assert seen == [(image, False)]
    assert admitted == [] and touched == []


@pytest.fixture
def competitor_among_others(world, request):
    """The competing insert, with the same bytes already stored for another hospital and another
    image already stored for St Lucia."""
    elsewhere, _ = add_image(
        in_memory(fundus_jpeg(4)),
        fields(world, hospital_id=world.northgate.pk, lab_unit=world.outpatients),
    )
    add_image(in_memory(fundus_jpeg(5)), fields(world, original_filename="neighbour.jpg"))
    return request.getfixturevalue("competitor"), elsewhere


def test_an_insert_that_loses_the_race_returns_its_own_hospitals_row_among_others(
    world, competitor_among_others
):
    competitor, elsewhere = competitor_among_others
    image, created = add_image(staged(fundus_jpeg(4)), fields(world))
    assert (image, created) == (competitor[0], False)
    assert image.hospital_id == world.st_lucia.pk and image != elsewhere
