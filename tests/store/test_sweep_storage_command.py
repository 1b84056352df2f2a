import hashlib
import io
import json
import os
import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from fundushub.store import blobs
from fundushub.store.models import Image
from tests.conftest import form_data, fundus_jpeg, run_worker, store_image


def _make_old(path):
    past = time.time() - 7200
    os.utime(path, (past, past))


def sweep(*args):
    out = io.StringIO()
    call_command("sweep_storage", *args, stdout=out)
    return out.getvalue()


def test_it_removes_old_orphans_and_keeps_everything_a_row_refers_to(
    client, world, isolated_storage
):
    client.force_login(world.alice)
    client.post(
        "/direct/upload",
        {**form_data(world), "files": [SimpleUploadedFile("a.jpg", fundus_jpeg(1))]},
    )
    run_worker()
    image = Image.objects.get()
    orphan_blob = isolated_storage / "originals" / "ab" / ("ab" + "0" * 62)
    orphan_blob.parent.mkdir(parents=True)
    orphan_blob.write_bytes(b"left by a crash")
    orphan_staged = isolated_storage / "staging" / "deadbeef"
    orphan_staged.write_bytes(b"abandoned")
    for path in [orphan_blob, orphan_staged, *isolated_storage.rglob(f"{image.sha256}*")]:
        _make_old(path)

    assert "Removed 1 staged, 1 original and 0 thumbnail" in sweep()
    assert not orphan_blob.exists() and not orphan_staged.exists()
    assert blobs.exists(image.original_key) and blobs.exists(image.thumbnail_key)


def test_young_files_are_left_for_work_in_progress(db, isolated_storage):
    (isolated_storage / "staging" / "fresh").write_bytes(b"arriving")
    assert "Removed 0 staged" in sweep()
    assert (isolated_storage / "staging" / "fresh").exists()


def test_staged_bytes_of_a_queued_item_are_kept_however_old(client, world, isolated_storage):
    client.force_login(world.alice)
    client.post(
        "/direct/upload",
        {**form_data(world), "files": [SimpleUploadedFile("a.jpg", fundus_jpeg(1))]},
    )
    staged = next((isolated_storage / "staging").iterdir())
    _make_old(staged)
    sweep()
    assert staged.exists()


def test_a_dry_run_deletes_nothing(db, isolated_storage):
    path = isolated_storage / "staging" / "old"
    path.write_bytes(b"x")
    _make_old(path)
    assert "Would remove 1 staged" in sweep("--dry-run")
    assert path.exists()


def _edit(world, image, ops):
    from fundushub.library import variants

    variants.save_edit(image, json.dumps(ops).encode(), world.alice)
    image.refresh_from_db()
    return image


def test_it_keeps_edited_variants_rows_refer_to_and_removes_orphaned_ones(world, isolated_storage):
    image = _edit(world, store_image(world, 1), {"rotate": 90})
    orphan_sha = "cd" + "1" * 62
    orphan_variant = isolated_storage / blobs.edited_key(orphan_sha)
    orphan_thumb = isolated_storage / blobs.thumbnail_key(orphan_sha)
    for path in (orphan_variant, orphan_thumb):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left by a crash between the bytes and the row")
    for path in isolated_storage.rglob("*"):
        if path.is_file():
            _make_old(path)

    out = sweep()
    assert "Removed 0 staged, 0 original and 1 thumbnail file(s), and 1 edited variant(s)" in out
    assert not orphan_variant.exists() and not orphan_thumb.exists()
    for key in (
        image.original_key,
        image.thumbnail_key,
        image.edited_key,
        image.edited_thumbnail_key,
    ):
        assert blobs.exists(key), key


def test_a_variant_that_became_an_orphan_goes_once_old(world, isolated_storage):
    image = _edit(world, store_image(world, 1), {"flip_h": True})
    keys = (image.edited_key, image.edited_thumbnail_key)
    # The row moved on (a crash after its update left the old variant behind).
    Image.objects.filter(pk=image.pk).update(edited_sha256="", edit_operations={})
    assert "1 thumbnail file(s), and 1 edited variant(s)" not in sweep()  # young: kept
    for key in keys:
        _make_old(isolated_storage / key)
    assert "1 thumbnail file(s), and 1 edited variant(s)" in sweep()
    assert not any(blobs.exists(k) for k in keys)
    assert blobs.exists(image.original_key) and blobs.exists(image.thumbnail_key)


def test_an_unfinished_write_of_a_variant_is_removed_once_old(world, isolated_storage):
    image = _edit(world, store_image(world, 1), {"rotate": 180})
    tmp = isolated_storage / f"{image.edited_key}.0123abcd.tmp"  # same name, never renamed
    tmp.write_bytes(b"half a png")
    _make_old(tmp)
    assert "1 edited variant(s)" in sweep()
    assert not tmp.exists() and blobs.exists(image.edited_key)


def test_bytes_a_camera_file_keeps_are_not_orphans(world, isolated_storage):
    from django.utils import timezone

    from fundushub.camera.models import CameraFile, CameraSession, Subject

    report = b"<html>fundus report</html>"
    sha = hashlib.sha256(report).hexdigest()
    blobs.write_bytes(blobs.original_key(sha), report)
    _make_old(isolated_storage / blobs.original_key(sha))
    subject = Subject.objects.create(subject_identifier="105-10-0989-3", site=world.st_lucia)
    session = CameraSession.objects.create(subject=subject, hospital=world.st_lucia)
    CameraFile.objects.create(
        session=session,
        file_type="report",
        original_filename="report.html",
        size=len(report),
        sha256=sha,
        md5=hashlib.md5(report).hexdigest(),
        mime="text/html",
        capture_datetime=timezone.now(),
    )
    assert "Removed 0 staged, 0 original" in sweep()
    assert blobs.exists(blobs.original_key(sha))


def _upload(client, world, data, user=None):
    from fundushub.uploads.models import UploadJob
    from fundushub.uploads.tasks import claim_next

    client.force_login(user or world.alice)
    client.post(
        "/direct/upload", {**form_data(world), "files": [SimpleUploadedFile("a.jpg", data)]}
    )
    return claim_next(UploadJob.objects.latest("created_at").id)


def test_it_keeps_the_bytes_of_an_upload_whose_worker_died_after_moving_them(client, world):
    from fundushub.store.sweep import sweep as sweep_now
    from fundushub.uploads.models import ItemState, UploadItem

    item = _upload(client, world, fundus_jpeg(7))
    blobs.move_into_place(item.staged_key, blobs.original_key(item.sha256))  # then the worker died
    _make_old(blobs.local_path(blobs.original_key(item.sha256)))  # a rename keeps the old mtime
    UploadItem.objects.filter(pk=item.pk).update(state=ItemState.QUEUED)  # re-queued by the reaper
    assert sweep_now()["originals"] == 0
    assert blobs.exists(blobs.original_key(item.sha256))


def test_an_upload_rewrites_an_old_orphan_thumbnail_so_a_sweep_meanwhile_spares_it(
    client, world, monkeypatch
):
    from fundushub.store import intake
    from fundushub.store.sweep import sweep as sweep_now
    from fundushub.uploads import ingest
    from fundushub.uploads.models import ItemState

    data = fundus_jpeg(8)
    orphan = store_image(world, 8, data=data)
    sha = orphan.sha256
    orphan.delete()  # a crash left its files behind
    blobs.delete(blobs.original_key(sha))
    _make_old(blobs.local_path(blobs.thumbnail_key(sha)))
    item = _upload(client, world, data)
    real = intake.decode_and_thumbnail

    def decode_then_sweep(*args, **kwargs):
        decoded = real(*args, **kwargs)
        sweep_now()
        return decoded

    monkeypatch.setattr(intake, "decode_and_thumbnail", decode_then_sweep)
    assert ingest.process_item(item) == ItemState.COMPLETED
    assert blobs.exists(blobs.thumbnail_key(sha))
