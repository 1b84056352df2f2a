"""Staff pages: /camera/sessions (with completeness) and /camera/sessions/<id> (files, thumbnails)."""

import uuid

import pytest
from django.utils import timezone

from fundushub.camera.models import CameraFile, CameraSession
from tests.camera.conftest import api, resolve, upload
from tests.conftest import fundus_jpeg, fundus_png, run_worker


@pytest.fixture
def sessions(cam):
    """A St Lucia session with left+right (report missing) and a Northgate session."""
    client = api(cam.token)
    st_lucia = resolve(client).json()["session_id"]
    assert upload(client, "left", fundus_jpeg(1), name="L_eye.jpg").status_code == 201
    assert upload(client, "right", fundus_png(2), name="R_eye.png").status_code == 201
    northgate = resolve(api(cam.other_token), "205-20-0001-1").json()["session_id"]
    run_worker()
    cam.st_lucia_session = CameraSession.objects.get(pk=st_lucia)
    cam.northgate_session = CameraSession.objects.get(pk=northgate)
    return cam


def started(session) -> str:
    return timezone.localtime(session.created_at).strftime("%Y-%m-%d %H:%M")


def test_the_list_shows_sessions_with_completeness_subject_device_and_time(client, sessions):
    client.force_login(sessions.mary)
    response = client.get("/camera/sessions")
    assert response.status_code == 200
    body = response.content.decode()
    assert "105-10-0989-3" in body
    assert "RET-CAM-001" in body
    assert started(sessions.st_lucia_session) in body
    assert "left, right" in body  # uploaded
    assert "left_dicom" not in body  # the eye groups are satisfied
    assert ">report<" in body.replace(" ", "")  # missing
    assert f"/camera/sessions/{sessions.st_lucia_session.pk}" in body


def test_the_list_shows_only_sessions_of_the_users_hospitals(client, sessions):
    client.force_login(sessions.mary)
    body = client.get("/camera/sessions").content.decode()
    assert "205-20-0001-1" not in body and "NG-CAM-9" not in body
    assert str(sessions.northgate_session.pk) not in body
    client.force_login(sessions.root)  # admin assigned to Northgate's lab unit
    body = client.get("/camera/sessions").content.decode()
    assert "205-20-0001-1" in body and "NG-CAM-9" in body
    assert "105-10-0989-3" not in body


def test_a_complete_session_is_shown_complete(client, sessions):
    client_api = api(sessions.token)
    upload(client_api, "report")
    client.force_login(sessions.mary)
    body = client.get("/camera/sessions").content.decode()
    assert "Complete" in body and "Incomplete" not in body


def test_the_session_page_shows_its_files_and_thumbnails(client, sessions):
    client.force_login(sessions.mary)
    session = sessions.st_lucia_session
    response = client.get(f"/camera/sessions/{session.pk}")
    assert response.status_code == 200
    body = response.content.decode()
    assert "105-10-0989-3" in body
    assert "L_eye.jpg" in body and "R_eye.png" in body
    for record in CameraFile.objects.filter(session=session):
        assert record.image_id is not None
        src = f"/images/{record.image_id}/thumbnail"
        assert src in body
        thumb = client.get(src)
        assert thumb.status_code == 200
        assert thumb["Content-Type"] == "image/jpeg"
        assert b"".join(thumb.streaming_content)[:3] == b"\xff\xd8\xff"


def test_the_session_page_lists_files_that_are_not_images(client, sessions):
    upload(api(sessions.token), "report", name="summary.html")
    client.force_login(sessions.mary)
    body = client.get(f"/camera/sessions/{sessions.st_lucia_session.pk}").content.decode()
    assert "summary.html" in body


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_an_uploader_without_the_data_manager_role_gets_403(client, sessions, user):
    client.force_login(getattr(sessions, user))
    assert client.get("/camera/sessions").status_code == 403
    assert client.get(f"/camera/sessions/{sessions.st_lucia_session.pk}").status_code == 403


def test_another_hospitals_session_is_404(client, sessions):
    client.force_login(sessions.mary)
    assert client.get(f"/camera/sessions/{sessions.northgate_session.pk}").status_code == 404
    client.force_login(sessions.root)
    assert client.get(f"/camera/sessions/{sessions.st_lucia_session.pk}").status_code == 404
    assert client.get(f"/camera/sessions/{sessions.northgate_session.pk}").status_code == 200


def test_an_unknown_session_is_404(client, sessions):
    client.force_login(sessions.mary)
    assert client.get(f"/camera/sessions/{uuid.uuid4()}").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, sessions):
    for url in ("/camera/sessions", f"/camera/sessions/{sessions.st_lucia_session.pk}"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_a_device_token_does_not_open_the_staff_pages(sessions):
    response = api(sessions.token).get("/camera/sessions")
    assert response.status_code in (302, 401, 403)


def test_a_dicom_refused_a_preview_says_why_on_the_session_page(client, sessions):
    from tests.camera import dicoms

    upload(api(sessions.token), "left_dicom", dicoms.bomb(), name="huge.dcm")
    run_worker()
    client.force_login(sessions.mary)
    body = client.get(f"/camera/sessions/{sessions.st_lucia_session.pk}").content.decode()
    assert "huge.dcm" in body
    assert "No preview: the DICOM declares 65535 × 65535 pixels" in body


# Titles, viewer links and reports opened inert (issue 11, C19) ----------------------------


def test_thumbnails_are_titled_by_subject_eye_and_day_and_open_the_viewer(client, sessions):
    client.force_login(sessions.mary)
    session = sessions.st_lucia_session
    body = client.get(f"/camera/sessions/{session.pk}").content.decode()
    for record in CameraFile.objects.filter(session=session):
        eye = "left" if record.file_type == "left" else "right"
        title = f"105-10-0989-3 · {eye} eye · 2026-11-21"
        assert (
            f'<a href="/direct/images/{record.image_id}" title="Open {title} in the viewer">'
            in body
        )
        assert f'alt="{title}"' in body


def test_a_camera_image_is_titled_by_subject_eye_and_day_in_the_viewer_and_the_grid(
    client, sessions
):
    left = CameraFile.objects.get(session=sessions.st_lucia_session, file_type="left")
    client.force_login(sessions.mary)
    viewer = client.get(f"/direct/images/{left.image_id}").content.decode()
    title = "105-10-0989-3 · left eye · 2026-11-21"
    assert f"<h1>{title}</h1>" in viewer and f"<title>{title} · Fundus Hub</title>" in viewer
    assert "L_eye.jpg" in viewer  # the file's own name stays among the details
    grid = client.get("/direct/dashboard?source=camera").content.decode()
    assert f'<p class="thumb-name" title="{title}">' in grid
    export = client.get("/direct/dashboard/export.csv?source=camera")
    assert title in b"".join(export.streaming_content).decode()
    edit = client.get(f"/direct/images/{left.image_id}/edit").content.decode()
    assert f"<strong>{title}</strong>" in edit  # the day of capture, not of arrival, here too


def test_an_html_report_opens_in_the_browser_sandboxed(client, sessions):
    upload(api(sessions.token), "report", name="summary.html")
    report = CameraFile.objects.get(file_type="report")
    client.force_login(sessions.mary)
    session = sessions.st_lucia_session
    page = client.get(f"/camera/sessions/{session.pk}").content.decode()
    url = f"/camera/sessions/{session.pk}/files/{report.pk}"
    assert f'href="{url}" target="_blank" rel="noopener">Open report</a>' in page
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content).startswith(b"<!DOCTYPE html>")
    from fundushub.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="camera.file_opened", user=sessions.mary).count() == 1


def test_a_pdf_report_is_downloaded_never_shown_inline(client, sessions):
    from tests.camera.conftest import PDF_REPORT

    upload(api(sessions.token), "report", PDF_REPORT, name="summary.html")
    report = CameraFile.objects.get(file_type="report")
    client.force_login(sessions.mary)
    response = client.get(f"/camera/sessions/{sessions.st_lucia_session.pk}/files/{report.pk}")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="summary.pdf"'
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_report_is_404_outside_the_users_hospitals_or_under_another_session(client, sessions):
    upload(api(sessions.token), "report", name="summary.html")
    report = CameraFile.objects.get(file_type="report")
    client.force_login(sessions.root)  # Northgate only
    url = f"/camera/sessions/{sessions.st_lucia_session.pk}/files/{report.pk}"
    assert client.get(url).status_code == 404
    client.force_login(sessions.mary)
    other = f"/camera/sessions/{sessions.northgate_session.pk}/files/{report.pk}"
    assert client.get(other).status_code == 404
