import json

import pytest

from fundus_watchdog.cli import main

from .conftest import registered_exam


@pytest.fixture
def config_file(tmp_path, watch_dir, stub, camera):
    registered_exam(camera, stub)  # creates the camera database with a few rows
    path = tmp_path / "camera_config.json"
    path.write_text(
        json.dumps(
            {
                "watch_dir": str(watch_dir),
                "db_path": str(watch_dir / "camera.db"),
                "api_url": stub.url,
                "token": stub.token,
            }
        )
    )
    return path


def check(capsys, *args):
    code = main(["check", *args])
    return code, capsys.readouterr().out


def test_a_good_setup_is_ready_and_shows_what_it_found(config_file, capsys):
    code, out = check(capsys, "--config", str(config_file))
    assert code == 0, out
    assert "images(id, subject_identifier, filename, eye, captured)" in out
    assert "patients(subject_identifier, initials, sex, age)" in out
    assert "[ok]      db_patient_table.db_patient_initials: patients.initials" in out
    assert "[ok]      db_image_table.db_image_eye: images.eye" in out
    assert "eye values in images.eye:" in out
    assert "1 subject folder(s) waiting: 105-10-0989-3 -> 105-10-0989-3" in out
    assert "is reachable" in out and "[ok]      token accepted" in out
    assert out.rstrip().endswith("Result: ready")


def test_every_problem_is_listed_and_the_exit_code_is_non_zero(config_file, stub, capsys):
    stub.token = "another"
    code, out = check(
        capsys,
        "--config",
        str(config_file),
        "--db-image-eye",
        "laterality",
        "--db-patient-table",
        "Exams",
    )
    assert code == 1
    assert "[PROBLEM] db_image_eye = 'laterality': table images has no such column" in out
    assert "[PROBLEM] db_patient_table = 'Exams': no such table" in out
    assert "[PROBLEM] ping" in out and "rejected the token" in out
    assert "3 problem(s) to fix before going live" in out


def test_a_token_refused_only_on_real_calls_is_caught(config_file, stub, capsys):
    stub.fail("status", status=401, body={"detail": "Invalid token."})
    code, out = check(capsys, "--config", str(config_file))
    assert code == 1 and "[PROBLEM] the server rejected the token" in out


def test_an_unreachable_server_is_a_problem(config_file, capsys):
    code, out = check(capsys, "--config", str(config_file), "--api-url", "http://127.0.0.1:9")
    assert code == 1 and "cannot reach the server at http://127.0.0.1:9" in out


def test_a_url_that_is_not_a_camera_api_is_a_problem(config_file, stub, capsys):
    stub.fail("ping", status=200, body={"hello": "world"})
    code, out = check(capsys, "--config", str(config_file))
    assert code == 1 and "not like a camera API" in out


def test_a_missing_watch_folder_and_database_are_problems(config_file, tmp_path, capsys):
    code, out = check(
        capsys,
        "--config",
        str(config_file),
        "--watch-dir",
        str(tmp_path / "nope"),
        "--db-path",
        str(tmp_path / "nope.db"),
    )
    assert code == 1
    assert "does not exist or is not a folder" in out and "camera database not found" in out


def test_unrecognised_eye_values_are_pointed_out(config_file, watch_dir, capsys):
    import sqlite3

    conn = sqlite3.connect(watch_dir / "camera.db")
    with conn:
        conn.execute(
            "INSERT INTO images (subject_identifier, filename, eye) VALUES ('x', 'y.jpg', 'OU')"
        )
    conn.close()
    code, out = check(capsys, "--config", str(config_file))
    assert code == 0
    assert (
        "[warning] eye values not recognised (those files need an eye in their name): 'OU'" in out
    )


def test_a_camera_without_database_is_a_warning_not_a_problem(config_file, capsys):
    code, out = check(capsys, "--config", str(config_file), "--db-path", "")
    assert code == 0 and "no camera database configured" in out
