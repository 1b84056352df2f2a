"""manage camera_token DEVICE_ID --lab-unit ID [--camera ID] [--report-type combined|per_eye]."""

import io
import logging

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from fundushub.camera.models import CameraDevice
from tests.camera.conftest import BASE, api


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("camera_token", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def token_of(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


def pings(token) -> int:
    return api(token).get(f"{BASE}/ping/").status_code


def every_stored_value() -> str:
    """Every value of every row of every table, as text."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes):
                        value = bytes(value).decode("latin-1")
                    values.append(str(value))
    return "\n".join(values)


def test_it_creates_a_device_whose_lab_unit_fixes_its_hospital(world):
    out, _ = run("CAM-NEW", "--lab-unit", world.screening.pk)
    device = CameraDevice.objects.get(device_id="CAM-NEW")
    assert device.lab_unit == world.screening
    assert device.hospital == world.st_lucia
    assert device.camera is None
    assert device.report_type == "combined"
    assert pings(token_of(out)) == 200


def test_it_sets_the_camera_model(world):
    run("CAM-NEW", "--lab-unit", world.retina.pk, "--camera", world.canon.pk)
    assert CameraDevice.objects.get(device_id="CAM-NEW").camera == world.canon


def test_the_token_is_the_last_line_and_appears_only_there(world):
    out, err = run("CAM-NEW", "--lab-unit", world.retina.pk)
    lines = out.strip().splitlines()
    token = lines[-1].strip()
    assert len(token) >= 20 and " " not in token
    assert not any(token in line for line in lines[:-1])
    assert token not in err


def test_the_token_is_stored_hashed_and_appears_nowhere_in_the_database(world):
    out, _ = run("CAM-NEW", "--lab-unit", world.retina.pk)
    token = token_of(out)
    device = CameraDevice.objects.get(device_id="CAM-NEW")
    assert device.token_hash and device.token_hash != token
    assert token not in every_stored_value()
    assert pings(token) == 200
    assert token not in every_stored_value()  # signing in stores nothing either


def test_the_token_is_never_logged(world, caplog):
    caplog.set_level(logging.DEBUG)
    out, _ = run("CAM-NEW", "--lab-unit", world.retina.pk)
    token = token_of(out)
    assert pings(token) == 200
    assert pings(token + "x") == 401
    assert token not in caplog.text


def test_a_new_token_invalidates_the_old_one(world):
    old = token_of(run("CAM-NEW", "--lab-unit", world.retina.pk)[0])
    new = token_of(run("CAM-NEW")[0])
    assert new != old
    assert pings(old) == 401
    assert pings(new) == 200
    assert CameraDevice.objects.filter(device_id="CAM-NEW").count() == 1


def test_a_new_device_without_a_lab_unit_is_a_clear_error(world):
    with pytest.raises(CommandError, match="--lab-unit"):
        run("CAM-NEW")
    assert not CameraDevice.objects.exists()


def test_an_unknown_lab_unit_is_a_clear_error(world):
    with pytest.raises(CommandError, match="lab unit"):
        run("CAM-NEW", "--lab-unit", 999999)
    assert not CameraDevice.objects.exists()


def test_a_lab_unit_of_another_hospital_is_refused_for_an_existing_device(world):
    old = token_of(run("CAM-NEW", "--lab-unit", world.retina.pk)[0])
    with pytest.raises(CommandError):
        run("CAM-NEW", "--lab-unit", world.outpatients.pk)
    device = CameraDevice.objects.get(device_id="CAM-NEW")
    assert device.hospital == world.st_lucia and device.lab_unit == world.retina
    assert pings(old) == 200  # nothing changed, not even the token


def test_a_lab_unit_of_the_same_hospital_moves_an_existing_device(world):
    run("CAM-NEW", "--lab-unit", world.retina.pk)
    run("CAM-NEW", "--lab-unit", world.screening.pk)
    device = CameraDevice.objects.get(device_id="CAM-NEW")
    assert device.lab_unit == world.screening and device.hospital == world.st_lucia


def test_report_type_sets_the_devices_default(world):
    run("CAM-NEW", "--lab-unit", world.retina.pk, "--report-type", "per_eye")
    assert CameraDevice.objects.get(device_id="CAM-NEW").report_type == "per_eye"
    run("CAM-NEW", "--report-type", "combined")
    assert CameraDevice.objects.get(device_id="CAM-NEW").report_type == "combined"


def test_reissuing_a_token_keeps_the_devices_settings(world):
    run(
        "CAM-NEW",
        "--lab-unit",
        world.retina.pk,
        "--camera",
        world.canon.pk,
        "--report-type",
        "per_eye",
    )
    run("CAM-NEW")
    device = CameraDevice.objects.get(device_id="CAM-NEW")
    assert (device.lab_unit, device.camera, device.report_type) == (
        world.retina,
        world.canon,
        "per_eye",
    )


def test_an_unknown_report_type_is_refused(world):
    with pytest.raises(CommandError):
        run("CAM-NEW", "--lab-unit", world.retina.pk, "--report-type", "both")
    assert not CameraDevice.objects.exists()


def test_a_device_token_cannot_sign_in_to_the_web_pages(world, client):
    token = token_of(run("CAM-NEW", "--lab-unit", world.retina.pk)[0])
    device = CameraDevice.objects.get(device_id="CAM-NEW")
    assert not device.user.has_usable_password()
    response = client.post(
        "/accounts/login/", {"username": device.user.username, "password": token}
    )
    assert response.status_code == 200  # the sign-in page again, with its error
    assert "_auth_user_id" not in client.session
