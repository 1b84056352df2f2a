"""PreparedQuery: the camera API's hot lookups, compiled once, give what the ORM itself gives."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fundushub.camera import completeness, files, sessions
from fundushub.camera.auth import DEVICE_BY_TOKEN
from fundushub.camera.models import CameraFile, CameraSession, hash_token
from fundushub.lib.prepared import PreparedQuery


@pytest.fixture
def sessions_of_subject(cam):
    now = timezone.now()
    made = []
    for hours in (30, 5, 1):
        s = CameraSession.objects.create(
            subject=cam.subject, hospital=cam.st_lucia, device=cam.device
        )
        CameraSession.objects.filter(pk=s.pk).update(created_at=now - timedelta(hours=hours))
        made.append(CameraSession.objects.get(pk=s.pk))
    return made


def test_a_prepared_lookup_returns_the_same_rows_as_the_orm(cam, sessions_of_subject):
    since = timezone.now() - timedelta(hours=10)
    got = sessions.CREATED_SINCE.all(
        identifier=cam.subject.subject_identifier, hospital=cam.st_lucia.pk, since=since
    )
    expected = list(
        CameraSession.objects.filter(subject=cam.subject, created_at__gte=since).order_by(
            "-created_at"
        )
    )
    assert [s.pk for s in got] == [s.pk for s in expected] and len(got) == 2
    # converters applied: real datetimes and UUIDs, equal to what the ORM loads
    assert [(s.created_at, s.id, s.sent) for s in got] == [
        (s.created_at, s.id, s.sent) for s in expected
    ]
    assert not got[0]._state.adding and got[0]._state.db == "default"


def test_values_change_between_runs_while_the_sql_is_compiled_once(cam, sessions_of_subject):
    newest = sessions.NEWEST.first(
        identifier=cam.subject.subject_identifier, hospital=cam.st_lucia.pk
    )
    assert newest.pk == sessions_of_subject[-1].pk
    assert sessions.NEWEST.first(identifier="nobody", hospital=cam.st_lucia.pk) is None
    # another hospital's device sees nothing of this subject
    assert (
        sessions.NEWEST.first(identifier=cam.subject.subject_identifier, hospital=cam.northgate.pk)
        is None
    )
    with CaptureQueriesContext(connection) as run:
        sessions.NEWEST.first(identifier=cam.subject.subject_identifier, hospital=cam.st_lucia.pk)
    assert len(run.captured_queries) == 1
    assert "nobody" not in run.captured_queries[0]["sql"]


def test_a_session_is_found_by_its_id_only_within_the_subject_and_hospital(
    cam, sessions_of_subject
):
    target = sessions_of_subject[0]
    where = {"identifier": cam.subject.subject_identifier, "hospital": cam.st_lucia.pk}
    assert sessions.SESSION_BY_ID.first(pk=target.pk, **where).pk == target.pk
    assert sessions.SESSION_BY_ID.first(pk=str(target.pk), **where).pk == target.pk
    assert sessions.SESSION_BY_ID.first(pk=uuid.uuid4(), **where) is None
    assert (
        sessions.SESSION_BY_ID.first(pk=target.pk, identifier="205-20-0001-1", hospital=1) is None
    )


def test_only_loads_the_named_columns_and_the_rest_on_demand(cam, sessions_of_subject):
    session = sessions_of_subject[0]
    CameraFile.objects.create(
        session=session,
        file_type="report",
        original_filename="r.html",
        size=3,
        sha256="a" * 64,
        md5="b" * 32,
        mime="text/html",
        capture_datetime=timezone.now(),
    )
    (found,) = completeness.session_files(session)
    assert found.file_type == "report" and found.capture_datetime is not None
    assert found.get_deferred_fields() >= {"sha256", "md5", "original_filename"}
    assert found.sha256 == "a" * 64  # loaded when asked
    assert files.SAME_NAME.first(session=session.pk, name="r.html").pk == found.pk
    assert files.SAME_NAME.first(session=session.pk, name="R.HTML") is None


def test_the_device_lookup_refuses_a_deactivated_account(cam):
    assert DEVICE_BY_TOKEN.first(token_hash=hash_token(cam.token)) == cam.device
    cam.device.user.is_active = False
    cam.device.user.save()
    assert DEVICE_BY_TOKEN.first(token_hash=hash_token(cam.token)) is None


def test_a_query_that_does_not_use_every_value_is_refused(db):
    query = PreparedQuery(
        lambda name, unused: CameraSession.objects.filter(subject__subject_identifier=name),
        name=sessions._IDENTIFIER,
        unused=sessions._IDENTIFIER,
    )
    with pytest.raises(ValueError, match="must appear once"):
        query.all(name="x", unused="y")


def test_a_query_that_selects_other_models_columns_is_refused(db):
    query = PreparedQuery(
        lambda name: CameraSession.objects.select_related("subject").filter(
            subject__subject_identifier=name
        ),
        name=sessions._IDENTIFIER,
    )
    with pytest.raises(ValueError, match="one model's own columns"):
        query.all(name="x")


def test_an_integer_value_is_compiled_within_the_columns_range(cam):
    """A marker out of an integer column's range would make the ORM write different SQL."""
    from fundushub.store.models import Image

    query = PreparedQuery(
        lambda size: Image.objects.filter(width=size).order_by()[:1],
        size=Image._meta.get_field("width"),
    )
    assert query.all(size=10**6) == []
