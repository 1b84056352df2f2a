"""A camera's reports, as the examination page lists them (grading/reports.py, answered by the
camera) and opens them: for every user of the lab unit whose camera sent them, graders included."""

from fundushub.audit.models import AuditEvent
from fundushub.camera.models import CameraFile
from fundushub.grading.models import ExaminationImage
from fundushub.grading.reports import reports_for
from tests.camera.conftest import PDF_REPORT, api, content_for, resolve, upload
from tests.conftest import make_user, run_worker


def send(cam, *files):
    """One camera session: resolve, then each (file type, bytes); returns the file rows."""
    client = api(cam.token)
    assert resolve(client).status_code == 200
    rows = []
    for file_type, data, name in files:
        response = upload(client, file_type, data, name=name)
        assert response.status_code in (200, 201), response.content
        rows.append(CameraFile.objects.get(pk=response.json()["id"]))
    run_worker()
    return rows


def session_with_pdf(cam):
    left, right, report = send(
        cam,
        ("left", content_for("left", 1), "L.jpg"),
        ("right", content_for("right", 2), "R.jpg"),
        ("report", PDF_REPORT, "report.pdf"),
    )
    left.refresh_from_db()
    exam = ExaminationImage.objects.get(image=left.image).examination
    return exam, report


def test_an_examination_lists_the_reports_of_its_camera_session(cam):
    exam, report = session_with_pdf(cam)
    (found,) = reports_for(exam)
    assert (found.name, found.url, found.filename) == (
        "Report (both eyes)",
        f"/camera/reports/{report.pk}",
        "report.pdf",
    )


def test_a_grader_of_the_lab_unit_opens_a_pdf_report_as_a_download_and_it_is_audited(client, cam):
    _, report = session_with_pdf(cam)
    client.force_login(cam.gina)
    response = client.get(f"/camera/reports/{report.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF_REPORT
    assert AuditEvent.objects.filter(action="camera.file_opened", object_id=str(report.pk))


def test_an_html_report_opens_inline_sandboxed(client, cam):
    (report,) = send(cam, ("left_report", content_for("left_report", 3), "left.html"))
    client.force_login(cam.gina)
    response = client.get(f"/camera/reports/{report.pk}")
    assert response["Content-Type"] == "text/html"
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_report_is_404_to_users_of_other_lab_units_even_in_the_same_hospital(
    client, cam, same_hospital_other_unit_user
):
    _, report = session_with_pdf(cam)
    for user in (same_hospital_other_unit_user, cam.bob):
        client.force_login(user)
        assert client.get(f"/camera/reports/{report.pk}").status_code == 404


def test_a_camera_image_is_not_served_as_a_report(client, cam):
    left, _ = send(cam, ("left", content_for("left", 4), "L.jpg"), ("report", PDF_REPORT, "r.pdf"))
    client.force_login(cam.gina)
    assert client.get(f"/camera/reports/{left.pk}").status_code == 404


def test_an_unknown_report_is_404(client, cam):
    client.force_login(cam.gina)
    assert client.get("/camera/reports/999999").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, cam):
    _, report = session_with_pdf(cam)
    response = client.get(f"/camera/reports/{report.pk}")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_added_to_the_lab_unit_later_may_open_it(client, cam):
    _, report = session_with_pdf(cam)
    newcomer = make_user("nina", "Grader", [cam.screening])
    client.force_login(newcomer)
    assert client.get(f"/camera/reports/{report.pk}").status_code == 404
    newcomer.lab_units.add(cam.retina)
    assert client.get(f"/camera/reports/{report.pk}").status_code == 200
