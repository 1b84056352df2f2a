"""Camera test world: a device at St Lucia (Retina) with a token, and registered subjects."""

import io
from datetime import date

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from fundushub.camera.models import CameraDevice, Subject

DICOM_HEAD = b"\0" * 128 + b"DICM" + b"\0" * 64
HTML_REPORT = b"<!DOCTYPE html><html><body><h1>Fundus report</h1></body></html>"
PDF_REPORT = b"%PDF-1.4\n%fake but well-started pdf\n"


def issue_token(device_id, lab_unit, *extra) -> str:
    out = io.StringIO()
    call_command("camera_token", device_id, "--lab-unit", str(lab_unit.pk), *extra, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def years_ago(years: int) -> date:
    today = date.today()
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
