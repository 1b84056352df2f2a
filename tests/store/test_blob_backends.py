"""The store's one storage interface (store/blobs.py) on both backends: local files and a real S3
server (SeaweedFS, tests/s3.py), each test run on each, whatever FUNDUSHUB_TEST_STORAGE says."""

import hashlib
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fundushub.store import blobs, bucket
from fundushub.store.models import Image
from fundushub.store.sweep import sweep
from tests import s3
from tests.conftest import form_data, fundus_jpeg, run_worker, store_image

SHA = "ab" + "0" * 62
EVERYTHING_OLD = timedelta(minutes=-1)  # a cutoff in the future: every blob counts as old


@pytest.fixture(params=["local", "s3"])
def root(request, settings, isolated_storage, tmp_path):
    """The storage root, as the tests look at it: a folder, or a prefix of the bucket."""
    local = tmp_path / "media"
    if request.param == "s3":
        return s3.use_bucket(settings, request.getfixturevalue("s3_server"), local)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(local), "allow_overwrite": True},
        },
    }
    return local


def stage(data: bytes, key: str = "staging/upload", chunk: int = 1024 * 1024) -> str:
    w = blobs.writer(key)
    for start in range(0, len(data), chunk):
        w.write(data[start : start + chunk])
    w.commit()
    return key


def keys_under(prefix: str) -> list[str]:
    return sorted(key for listed in blobs.walk(prefix) for key, _ in listed)


def test_a_staged_blob_moves_into_place_reads_back_and_is_deleted(root):
    data = fundus_jpeg(1)
    staged = stage(data, chunk=1000)
    assert blobs.exists(staged)
    blobs.move_into_place(staged, blobs.original_key(SHA))
    assert not blobs.exists(staged)
    assert blobs.exists(blobs.original_key(SHA))
    assert (root / blobs.original_key(SHA)).read_bytes() == data
    with blobs.open_blob(blobs.original_key(SHA)) as f:
        assert f.read() == data
    handle, size = blobs.reader(blobs.original_key(SHA))
    with handle:
        assert (handle.read(), size) == (data, len(data))
    blobs.delete(blobs.original_key(SHA))
    assert not blobs.exists(blobs.original_key(SHA))


def test_a_file_larger_than_a_part_arrives_whole(root):
    data = os.urandom(bucket.PART_SIZE + 12345)  # two parts on S3
    stage(data, chunk=256 * 1024)
    stored = (root / "staging" / "upload").read_bytes()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()


def test_an_aborted_write_leaves_nothing_behind(root, request):
    w = blobs.writer("staging/abandoned")
    w.write(os.urandom(bucket.PART_SIZE + 1))  # on S3, one part already sent
    w.abort()
    assert not blobs.exists("staging/abandoned")
    assert keys_under("staging") == []
    if isinstance(root, s3.BucketPath):
        uploads = (
            request.getfixturevalue("s3_server")
            .client()
            .list_multipart_uploads(Bucket=s3.BUCKET, Prefix=root.key + "/")
        )
        assert uploads.get("Uploads", []) == []


def test_write_bytes_again_replaces_the_blob_and_leaves_no_other_file(root):
    blobs.write_bytes(blobs.thumbnail_key(SHA), b"thumbnail")
    blobs.write_bytes(blobs.thumbnail_key(SHA), b"thumbnail")
    assert keys_under("thumbs") == [blobs.thumbnail_key(SHA)]
    assert (root / blobs.thumbnail_key(SHA)).read_bytes() == b"thumbnail"


def test_a_missing_blob_is_not_found_on_either_backend(root):
    assert not blobs.exists(blobs.original_key(SHA))
    with pytest.raises(FileNotFoundError):
        blobs.open_blob(blobs.original_key(SHA))
    with pytest.raises(FileNotFoundError):
        blobs.reader(blobs.original_key(SHA))
    blobs.delete(blobs.original_key(SHA))  # deleting what is gone is no error
    assert keys_under("originals") == []


def test_the_sweep_removes_old_orphans_and_keeps_what_rows_refer_to(root, world):
    image = store_image(world, 1)
    blobs.write_bytes(blobs.original_key(SHA), b"left by a crash")
    blobs.write_bytes("staging/deadbeef", b"abandoned")
    assert sweep(EVERYTHING_OLD) == {"staging": 1, "originals": 1, "thumbs": 0, "edited": 0}
    assert not blobs.exists(blobs.original_key(SHA)) and not blobs.exists("staging/deadbeef")
    assert blobs.exists(image.original_key) and blobs.exists(image.thumbnail_key)


def test_the_sweep_spares_young_files(root, db):
    blobs.write_bytes(blobs.original_key(SHA), b"being stored right now")
    stage(b"arriving", "staging/fresh")
    assert sum(sweep().values()) == 0
    assert keys_under("") == ["originals/ab/" + SHA, "staging/fresh"]


def test_a_direct_upload_ends_in_storage_with_its_sha256_and_nothing_in_staging(
    root, client, world
):
    data = fundus_jpeg(3)
    client.force_login(world.alice)
    files = [SimpleUploadedFile("a.jpg", data, "image/jpeg")]
    assert client.post("/direct/upload", {**form_data(world), "files": files}).status_code == 303
    assert len(keys_under("staging")) == 1  # the staged file, waiting for a worker
    assert run_worker() >= 1
    image = Image.objects.get()
    stored = (root / image.original_key).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == image.sha256 == hashlib.sha256(data).hexdigest()
    assert (root / image.thumbnail_key).exists()
    assert keys_under("staging") == []


def test_with_s3_an_upload_writes_nothing_to_the_local_disk(
    settings, s3_server, client, world, tmp_path
):
    root = s3.use_bucket(settings, s3_server, tmp_path)
    client.force_login(world.alice)
    files = [SimpleUploadedFile("a.jpg", fundus_jpeg(4), "image/jpeg")]
    client.post("/direct/upload", {**form_data(world), "files": files})
    run_worker()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert (root / Image.objects.get().original_key).exists()


def test_a_bucket_that_refuses_the_credentials_is_an_oserror(settings, s3_server, tmp_path):
    s3.use_bucket(settings, s3_server, tmp_path)
    options = {**settings.STORAGES["default"]["OPTIONS"], "access_key": "x", "secret_key": "y"}
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": options},
    }
    with pytest.raises(OSError):
        blobs.exists(blobs.original_key(SHA))
    with pytest.raises(OSError):
        blobs.write_bytes(blobs.original_key(SHA), b"x")
