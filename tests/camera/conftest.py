"""Camera test world: a device at St Lucia (Retina) with a token, and registered subjects."""

import hashlib
import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from fundushub.camera.models import CameraDevice, CameraFile, CameraSession, Subject
from tests.conftest import fundus_jpeg

DICOM_HEAD = b"\0" * 128 + b"DICM" + b"\0" * 64
HTML_REPORT = b"<!DOCTYPE html><html><body><h1>Fundus report</h1></body></html>"
PDF_REPORT = b"%PDF-1.4\n%fake but well-started pdf\n"


def issue_token(device_id, lab_unit, *extra) -> str:
    out = io.StringIO()
    call_command("camera_token", device_id, "--lab-unit", str(lab_unit.pk), *extra, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def years_ago(years: int) -> date:
    today = timezone.localdate()  # the server's today (TIME_ZONE), not the test machine's
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


@pytest.fixture
def cam(world):
    """world plus: st_lucia_cam (token), northgate_cam (token), subjects 105-10-0989-3 and others."""
    world.token = issue_token("RET-CAM-001", world.retina, "--camera", str(world.topcon.pk))
    world.device = CameraDevice.objects.get(device_id="RET-CAM-001")
    world.other_token = issue_token("NG-CAM-9", world.outpatients)
    world.subject = Subject.objects.create(
        subject_identifier="105-10-0989-3",
        initials="JD",
        sex="M",
        date_of_birth=years_ago(54),
        site=world.st_lucia,
    )
    world.northgate_subject = Subject.objects.create(
        subject_identifier="205-20-0001-1", initials="AB", sex="F", site=world.northgate
    )
    return world


def api(token: str | None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# --- helpers shared by the contract tests -------------------------------------------------------

BASE = "/api/retinopathy"
SENT_AT = "2026-11-21T10:00:00+00:00"
DEFAULT_NAMES = {
    "left": "left.jpg",
    "right": "right.jpg",
    "left_dicom": "left.dcm",
    "right_dicom": "right.dcm",
    "report": "report.html",
    "left_report": "left_report.html",
    "right_report": "right_report.html",
}


def content_for(file_type: str, seed: int = 0) -> bytes:
    """Valid bytes for a file type (different per seed)."""
    if file_type in ("left", "right"):
        return fundus_jpeg(seed)
    if file_type.endswith("_dicom"):
        return DICOM_HEAD + f"pixels {seed}".encode()
    return HTML_REPORT.replace(b"</h1>", f" {seed}</h1>".encode())


def resolve(client, subject="105-10-0989-3", **fields):
    return client.post(f"{BASE}/resolve/", {"subject_identifier": subject, **fields}, format="json")


def upload(
    client,
    file_type,
    data=None,
    name=None,
    subject="105-10-0989-3",
    query="",
    capture_datetime=SENT_AT,
    checksum=None,
    **extra,
):
    """POST one file as the field clients do (multipart; capture_datetime sent unless None)."""
    data = content_for(file_type) if data is None else data
    payload = {"file": SimpleUploadedFile(name or DEFAULT_NAMES.get(file_type, "x.bin"), data)}
    if capture_datetime is not None:
        payload["capture_datetime"] = capture_datetime
    if checksum is not None:
        payload["checksum"] = checksum
    payload.update(extra)
    url = f"{BASE}/{subject}/{file_type}/" + (f"?{query}" if query else "")
    return client.post(url, payload, format="multipart")


def status(client, subject="105-10-0989-3", query=""):
    return client.get(f"{BASE}/{subject}/status/" + (f"?{query}" if query else ""))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_session(
    subject,
    hospital=None,
    device=None,
    *,
    hours_ago: float = 0,
    files=(),
    report_type="combined",
    contraindicated=False,
    resolved=False,
) -> CameraSession:
    """A session created directly (as staff would in register mode), optionally with file rows."""
    session = CameraSession.objects.create(
        subject=subject,
        hospital=hospital or subject.site,
        device=device,
        report_type=report_type,
        contraindicated=contraindicated,
    )
    created = timezone.now() - timedelta(hours=hours_ago)
    CameraSession.objects.filter(pk=session.pk).update(
        created_at=created, last_resolved_at=created if resolved else None
    )
    for i, file_type in enumerate(files):
        add_file(session, file_type, name=f"{i}-{DEFAULT_NAMES[file_type]}")
    session.refresh_from_db()
    return session


def add_file(session, file_type, name=None) -> CameraFile:
    data = f"{session.pk} {file_type} {name}".encode()
    return CameraFile.objects.create(
        session=session,
        file_type=file_type,
        original_filename=name or DEFAULT_NAMES[file_type],
        size=len(data),
        sha256=sha256(data),
        md5=hashlib.md5(data).hexdigest(),
        mime="application/octet-stream",
        capture_datetime=timezone.now(),
    )


def stored_blobs(media_root) -> list:
    """Every original blob in this test's storage."""
    root = media_root / "originals"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def staged_leftovers(media_root) -> list:
    return sorted(p for p in (media_root / "staging").rglob("*") if p.is_file())
