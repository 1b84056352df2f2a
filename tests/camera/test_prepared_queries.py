"""PreparedQuery: each prepared query the site declares runs exactly the SQL the ORM runs for the
same values and gives the instances the ORM gives. These are the tests that fail when a Django
upgrade changes the compiler internals fundushub.lib.prepared relies on (its docstring lists them).
"""

import sys
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import fundushub.urls  # noqa: F401  (imports every module a request can reach)
from fundushub.camera.auth import DEVICE_BY_TOKEN
from fundushub.camera.models import CameraSession, hash_token
from fundushub.lib.prepared import PreparedQuery
from fundushub.store.models import Image
from tests.camera.conftest import add_file, make_session

SUBJECT = "105-10-0989-3"


def declared() -> dict[str, PreparedQuery]:
    """Every prepared query in the site's modules, by module and name."""
    return {
        f"{module.__name__}.{name}": value
        for module in list(sys.modules.values())
        if getattr(module, "__name__", "").startswith("fundushub.")
        for name, value in vars(module).items()
        if isinstance(value, PreparedQuery)
    }


def _where(w, hospital=None, identifier=SUBJECT) -> dict:
    return {"identifier": identifier, "hospital": hospital or w.st_lucia}


# For each prepared query: values to run it with, some finding rows and some not.
CASES = {
    "fundushub.camera.auth.DEVICE_BY_TOKEN": lambda w: [
        {"token_hash": hash_token(w.token)},
        {"token_hash": hash_token(w.other_token)},
        {"token_hash": hash_token("not a token")},
    ],
    "fundushub.camera.sessions.SUBJECT": lambda w: [
        _where(w),
        _where(w, hospital=w.northgate),
        _where(w, identifier="nobody"),
    ],
    "fundushub.camera.sessions.SESSION_BY_ID": lambda w: [
        {**_where(w), "pk": w.old.pk},
        {**_where(w), "pk": str(w.new.pk)},
        {**_where(w), "pk": uuid.uuid4()},
        {**_where(w, hospital=w.northgate), "pk": w.old.pk},
    ],
    "fundushub.camera.sessions.LAST_RESOLVED": lambda w: [
        _where(w),
        _where(w, hospital=w.northgate),
    ],
    "fundushub.camera.sessions.NEWEST": lambda w: [
        _where(w),
        _where(w, identifier="205-20-0001-1"),
    ],
    "fundushub.camera.sessions.CREATED_SINCE": lambda w: [
        {**_where(w), "since": timezone.now() - timedelta(hours=10)},
        {**_where(w), "since": timezone.now() - timedelta(hours=40)},
        {**_where(w), "since": timezone.now() + timedelta(hours=1)},
    ],
    "fundushub.camera.completeness.SESSION_FILES": lambda w: [
        {"session": w.old.pk},
        {"session": w.new.pk},
    ],
    "fundushub.camera.files.SAME_NAME": lambda w: [
        {"session": w.old.pk, "name": "0-left.jpg"},
        {"session": w.old.pk, "name": "0-LEFT.JPG"},
        {"session": w.new.pk, "name": "0-left.jpg"},
    ],
}


@pytest.fixture
def w(cam):
    return SimpleNamespace(
        token=cam.token,
        other_token=cam.other_token,
        st_lucia=cam.st_lucia.pk,
        northgate=cam.northgate.pk,
        old=make_session(cam.subject, hours_ago=30, files=("left", "report")),
        middle=make_session(cam.subject, hours_ago=5, resolved=True),
        new=make_session(cam.subject, hours_ago=1),
    )


def loaded(objects) -> list:
    """All an instance holds: its class, its loaded values (deferred ones absent), its state."""
    return [
        (
            type(o),
            {k: v for k, v in vars(o).items() if k != "_state"},
            o._state.db,
            o._state.adding,
            o._state.fields_cache,
        )
        for o in objects
    ]


def test_every_prepared_query_the_site_declares_is_checked_here():
    assert set(declared()) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_prepared_query_runs_the_orms_own_sql_and_gives_the_orms_own_instances(w, name):
    query = declared()[name]
    found_any = found_none = False
    for values in CASES[name](w):
        with CaptureQueriesContext(connection) as prepared_run:
            got = query.all(**values)
        with CaptureQueriesContext(connection) as orm_run:
            expected = list(query.build(**values))
        assert [q["sql"] for q in prepared_run] == [q["sql"] for q in orm_run], values
        assert loaded(got) == loaded(expected), values
        found_any, found_none = found_any or bool(got), found_none or not got
    assert found_any and found_none  # the cases above reach both outcomes


def test_the_device_lookup_refuses_a_deactivated_account(cam):
    assert DEVICE_BY_TOKEN.first(token_hash=hash_token(cam.token)) == cam.device
    cam.device.user.is_active = False
    cam.device.user.save()
    assert DEVICE_BY_TOKEN.first(token_hash=hash_token(cam.token)) is None


def test_a_deferred_column_of_a_prepared_result_loads_when_asked(cam):
    from fundushub.camera.completeness import session_files

    session = make_session(cam.subject)
    stored = add_file(session, "report")
    (found,) = session_files(session)
    assert {"sha256", "original_filename"} <= found.get_deferred_fields()
    assert found.sha256 == stored.sha256


def test_a_query_that_does_not_use_every_value_is_refused(db):
    query = PreparedQuery(
        CameraSession,
        lambda name, unused: CameraSession.objects.filter(subject__subject_identifier=name),
        name="subject__subject_identifier",
        unused="subject__subject_identifier",
    )
    with pytest.raises(ValueError, match="must appear once"):
        query.all(name="x", unused="y")


def test_a_query_that_selects_other_models_columns_is_refused(db):
    query = PreparedQuery(
        CameraSession,
        lambda name: CameraSession.objects.select_related("subject").filter(
            subject__subject_identifier=name
        ),
        name="subject__subject_identifier",
    )
    with pytest.raises(ValueError, match="one model's own columns"):
        query.all(name="x")


def test_a_query_of_another_model_than_declared_is_refused(db):
    query = PreparedQuery(
        Image, lambda since: CameraSession.objects.filter(created_at__gte=since), since="created_at"
    )
    with pytest.raises(ValueError, match="gives CameraSession, not Image"):
        query.all(since=timezone.now())


def test_an_integer_value_is_compiled_within_the_range_the_orm_checks(db, monkeypatch):
    """The ORM writes other SQL for an integer outside the column's range (SQLite has none)."""
    monkeypatch.setattr(connection.ops, "integer_field_range", lambda kind: (0, 10**6))
    query = PreparedQuery(
        Image, lambda size: Image.objects.filter(width=size).order_by()[:1], size="width"
    )
    assert query.all(size=640) == []
