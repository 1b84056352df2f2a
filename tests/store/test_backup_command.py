"""fundushub manage backup DEST: the embedded default (SQLite and local files) into a folder, the
database by SQLite's online backup, the stored files incrementally, a manifest last; PostgreSQL and
S3 installations are sent to their own tools."""

import hashlib
import io
import json
import sqlite3

import pytest
from django.core.management import CommandError, call_command, load_command_class
from django.db import connection

from fundushub.store import blobs
from tests.conftest import fundus_jpeg, fundus_png, store_image

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="backup covers the embedded default (SQLite); on PostgreSQL it refuses (tested below)",
)
# The backup reads the database through its own connection: it sees committed rows only.
committed = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    (settings.DATA_DIR / "secret_key").write_text("the key")
    return settings.DATA_DIR


def backup(dest) -> dict:
    call_command("backup", str(dest), stdout=io.StringIO())
    return json.loads((dest / "manifest.json").read_text())


def with_edited_variant(image):
    png = fundus_png(7)
    sha = hashlib.sha256(png).hexdigest()
    blobs.write_bytes(blobs.edited_key(sha), png)
    blobs.write_bytes(blobs.thumbnail_key(sha), fundus_jpeg(8, size=(64, 48)))
    image.edited_sha256 = sha
    image.save(update_fields=["edited_sha256"])
    return image


@sqlite_only
@committed
def test_a_backup_holds_the_database_copy_the_stored_files_and_a_manifest(world, tmp_path):
    images = [with_edited_variant(store_image(world, 1)), store_image(world, 2)]
    dest = tmp_path / "backup"

    manifest = backup(dest)

    copy = dest / manifest["database"]["file"]
    assert manifest["database"]["sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert manifest["database"]["rows"]["images_image"] == 2
    with sqlite3.connect(copy) as db:
        shas = {sha for (sha,) in db.execute("SELECT sha256 FROM images_image")}
    assert shas == {i.sha256 for i in images}
    assert manifest["files"] == {"originals": 2, "edited": 1, "thumbs": 3, "staging": 0}
    for image in images:
        assert (dest / "media" / image.original_key).read_bytes() == blobs.open_blob(
            image.original_key
        ).read()
    assert (dest / "secret_key").read_text() == "the key"
    assert manifest["fundushub_version"] and manifest["created_at"]


@sqlite_only
@committed
def test_a_second_backup_copies_only_the_files_stored_since(world, tmp_path):
    first_image = store_image(world, 1)
    dest = tmp_path / "backup"
    backup(dest)
    kept = dest / "media" / first_image.original_key
    before = kept.stat()

    store_image(world, 2)
    manifest = backup(dest)

    assert manifest["copied"]["files"] == 2  # the new original and its thumbnail
    assert manifest["files"]["originals"] == 2
    after = kept.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in dest.glob("database-*.sqlite3")] == [manifest["database"]["file"]]


@sqlite_only
def test_a_folder_holding_other_files_is_refused(db, tmp_path):
    dest = tmp_path / "documents"
    dest.mkdir()
    (dest / "letter.txt").write_text("not a backup")
    with pytest.raises(CommandError, match="holds other files"):
        backup(dest)
    assert sorted(p.name for p in dest.iterdir()) == ["letter.txt"]


@sqlite_only
def test_a_folder_inside_the_data_folder_is_refused(db, data_dir):
    with pytest.raises(CommandError, match="inside the data folder"):
        backup(data_dir / "backup")


@sqlite_only
def test_object_storage_is_refused_with_a_pointer_to_the_readme(db, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "fundus-test"},
        },
    }
    with pytest.raises(CommandError, match="object storage .S3.*README.md"):
        backup(tmp_path / "backup")
    assert not (tmp_path / "backup").exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the refusal shows where the database is PostgreSQL"
)
def test_postgresql_is_refused_with_a_pointer_to_pg_dump_and_the_readme(db, tmp_path):
    with pytest.raises(CommandError, match="PostgreSQL.*pg_dump.*README.md"):
        backup(tmp_path / "backup")
    assert not (tmp_path / "backup").exists()


@pytest.mark.parametrize("command", ["backup", "restore", "scrub"])
def test_the_help_says_what_the_command_does_and_for_which_setup(command):
    parser = load_command_class("fundushub.store", command).create_parser("fundushub", command)
    text = parser.format_help()
    assert {"backup": "SQLite", "restore": "--force", "scrub": "--sample"}[command] in text
    assert "quarantine" in text if command == "scrub" else "manifest" in text
