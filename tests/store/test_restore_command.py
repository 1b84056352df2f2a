"""fundushub manage restore SRC: a backup back into an empty data folder, checked against its
manifest; a data folder holding data only with --force; a damaged backup refused."""

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from fundushub.accounts.models import User
from fundushub.store import blobs
from fundushub.store.models import Image
from tests.conftest import fundus_jpeg, fundus_png, store_image

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="restore covers the embedded default (SQLite); PostgreSQL restores with its tools",
    ),
    # Backup and restore use their own database connections: they see committed rows only.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    (settings.DATA_DIR / "secret_key").write_text("the key")
    return settings.DATA_DIR


@pytest.fixture(autouse=True)
def database_kept_for_the_next_tests():
    """A test that wipes the database and fails before restoring must not break the rest."""
    yield
    if "images_image" not in connection.introspection.table_names():
        call_command("migrate", verbosity=0)


def run(command, *args) -> tuple[str, int]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *map(str, args), stdout=out, stderr=err)
    except CommandError as e:
        return out.getvalue() + err.getvalue() + str(e), e.returncode
    return out.getvalue() + err.getvalue(), 0


def wipe(data_dir: Path, media: Path) -> None:
    """What a lost disk leaves: no database, no files, no secret key."""
    connections.close_all()
    database = Path(connection.settings_dict["NAME"])
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        path.unlink(missing_ok=True)
    shutil.rmtree(media)
    (data_dir / "secret_key").unlink()


def edited(image):
    png = fundus_png(7)
    sha = hashlib.sha256(png).hexdigest()
    blobs.write_bytes(blobs.edited_key(sha), png)
    blobs.write_bytes(blobs.thumbnail_key(sha), fundus_jpeg(8, size=(64, 48)))
    image.edited_sha256 = sha
    image.save(update_fields=["edited_sha256"])
    return image


def test_backup_wipe_restore_then_scrub_is_clean_and_the_images_are_visible_again(
    world, client, data_dir, isolated_storage, tmp_path
):
    images = [edited(store_image(world, 1)), store_image(world, 2), store_image(world, 3)]
    thumbnails = {i.pk: blobs.open_blob(i.thumbnail_key).read() for i in images}
    assert run("backup", tmp_path / "backup")[1] == 0

    wipe(data_dir, isolated_storage)
    out, status = run("restore", tmp_path / "backup")

    assert status == 0, out
    assert "Checked against the manifest" in out
    assert (data_dir / "secret_key").read_text() == "the key"
    out, status = run("scrub")
    assert status == 0, out
    assert "Checked 4 file(s)" in out and "0 corrupt, 0 unreadable, 0 missing, 0 missing" in out
    assert Image.objects.count() == 3
    client.force_login(User.objects.get(username="alice"))
    for image in images:
        response = client.get(f"/images/{image.pk}/thumbnail")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == thumbnails[image.pk]
        assert client.get(f"/images/{image.pk}/view").status_code == 200


def test_a_data_folder_holding_data_is_refused_unless_forced(world, tmp_path):
    store_image(world, 1)
    run("backup", tmp_path / "backup")
    later = store_image(world, 2)

    out, status = run("restore", tmp_path / "backup")
    assert status == 1 and "already holds" in out and "--force" in out
    assert Image.objects.filter(pk=later.pk).exists()

    out, status = run("restore", "--force", tmp_path / "backup")
    assert status == 0, out
    assert not Image.objects.filter(pk=later.pk).exists()  # the database is the backup's


def test_a_backup_whose_database_copy_is_damaged_is_refused(world, tmp_path):
    store_image(world, 1)
    run("backup", tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    copy = tmp_path / "backup" / manifest["database"]["file"]
    damaged = bytearray(copy.read_bytes())
    damaged[5000] ^= 0xFF
    copy.write_bytes(bytes(damaged))

    out, status = run("restore", "--force", tmp_path / "backup")

    assert status == 1 and "does not match the manifest" in out
    assert Image.objects.count() == 1


def test_a_folder_without_a_manifest_is_refused(db, tmp_path):
    out, status = run("restore", tmp_path)
    assert status == 1 and "not a (finished) Fundus Hub backup" in out


def test_an_original_whose_bytes_do_not_match_its_name_is_reported_and_not_restored(
    world, data_dir, isolated_storage, tmp_path
):
    bad, good = store_image(world, 1), store_image(world, 2)
    run("backup", tmp_path / "backup")
    copy = tmp_path / "backup" / "media" / bad.original_key
    copy.write_bytes(copy.read_bytes()[:-10])
    wipe(data_dir, isolated_storage)

    out, status = run("restore", tmp_path / "backup")

    assert status == 1
    assert f"PROBLEM {bad.original_key}: its bytes do not match its name" in out
    assert not blobs.exists(bad.original_key)
    assert blobs.exists(good.original_key) and Image.objects.count() == 2
