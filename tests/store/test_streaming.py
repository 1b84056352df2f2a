"""A received file is fsynced in staging before any row refers to it (store/streaming.py).

A rename does not make a file's bytes durable, so the staged file itself must be fsynced before
the request records it: the upload item (direct uploads) or the camera file (camera uploads).
Every fsync is recorded by inode, in order with the INSERTs, as the request runs.
"""

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from fundushub.camera.models import CameraFile, Subject
from fundushub.store import blobs
from fundushub.uploads.models import UploadItem
from tests.camera.conftest import api, issue_token, resolve, upload
from tests.conftest import form_data, fundus_jpeg


@pytest.fixture
def journal(monkeypatch):
    """Every fsync (by inode) and every INSERT (by table), in the order they happen."""
    events = []
    real_fsync = os.fsync

    def fsync(fd):
        real_fsync(fd)
        st = os.fstat(fd)
        events.append(("fsync", (st.st_dev, st.st_ino)))

    def on_sql(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT"):
            events.append(("insert", sql.split()[2].strip('"`')))
        return execute(sql, params, many, context)

    monkeypatch.setattr(os, "fsync", fsync)
    with connection.execute_wrapper(on_sql):
        yield events


def fsynced_before_insert(events, path, table) -> bool:
    st = os.stat(path)
    fsynced = ("fsync", (st.st_dev, st.st_ino))
    inserted = ("insert", table)
    assert fsynced in events, f"{path} was never fsynced"
    assert inserted in events, f"nothing was inserted into {table}"
    return events.index(fsynced) < events.index(inserted)


def test_a_direct_uploads_staged_file_is_fsynced_before_its_item_is_recorded(
    client, world, journal
):
    client.force_login(world.alice)
    files = [SimpleUploadedFile("a.jpg", fundus_jpeg(1), "image/jpeg")]
    response = client.post("/direct/upload", {**form_data(world), "files": files})
    assert response.status_code == 303
    item = UploadItem.objects.get()
    staged = blobs.local_path(item.staged_key)
    assert fsynced_before_insert(journal, staged, UploadItem._meta.db_table)


def test_a_camera_uploads_staged_file_is_fsynced_before_its_row_is_recorded(world, journal):
    token = issue_token("RET-CAM-001", world.retina)
    Subject.objects.create(subject_identifier="105-10-0989-3", site=world.st_lucia)
    client = api(token)
    assert resolve(client).status_code == 200
    assert upload(client, "left", fundus_jpeg(2)).status_code == 201
    record = CameraFile.objects.get()
    stored = blobs.local_path(record.stored_filename)  # the staged file, renamed into place
    assert fsynced_before_insert(journal, stored, CameraFile._meta.db_table)
