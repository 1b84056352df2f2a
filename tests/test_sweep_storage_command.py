import io
import os
import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from fundushub.images import blobs
from fundushub.images.models import Image
from tests.conftest import form_data, fundus_jpeg, run_worker


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
