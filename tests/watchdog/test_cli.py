import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fundus_watchdog import __version__
from fundus_watchdog.cli import main
from fundus_watchdog.lock import InstanceLock

from .conftest import FAST, SUBJECT, registered_exam, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_file(tmp_path, watch_dir, stub):
    path = tmp_path / "camera_config.json"
    values = {
        "watch_dir": str(watch_dir),
        "db_path": str(watch_dir / "camera.db"),
        "api_url": stub.url,
        "token": stub.token,
        "device_id": "RET-CAM-001",
        "site_id": "40",
        "report_type": "combined",
        **{k: v for k, v in FAST.items() if k != "log_file"},
        "stable_seconds": 0.1,
    }
    path.write_text(json.dumps(values))
    return path


def archived(watch_dir):
    return (
        sorted(p.name for p in (watch_dir / "processed").iterdir())
        if (watch_dir / "processed").exists()
        else []
    )


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"fundus-watchdog {__version__}"


def test_create_config_writes_a_commented_sample_and_never_overwrites(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert main(["--create-config"]) == 0
    text = (tmp_path / "camera_config.json").read_text()
    assert (
        text.startswith("// fundus-watchdog settings")
        and '"watch_dir": "C:\\\\RetCamOutput"' in text
    )
    assert "fundus-watchdog check" in capsys.readouterr().out
    assert main(["--create-config"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["--create-config", str(tmp_path / "other.json")]) == 0


def test_a_config_problem_exits_2_and_lists_every_problem(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNDUS_CAMERA_WATCHDOG_TOKEN", raising=False)
    assert main(["--api-url", "ftp://x", "--report-type", "both"]) == 2
    err = capsys.readouterr().err
    for text in (
        "watch_dir is required",
        "token is required",
        "api_url must start with",
        "report_type must be one of",
    ):
        assert text in err
    assert "no --config given and no camera_config.json found" in err


def test_once_processes_the_folder_and_exits_0_with_a_log_file(
    config_file, watch_dir, camera, stub
):
    registered_exam(camera, stub)
    assert main(["--config", str(config_file), "--once"]) == 0
    assert len(archived(watch_dir)) == 1
    log = (watch_dir / ".fundus-watchdog" / "watchdog.log").read_text()
    assert f"subject {SUBJECT}: complete on the server" in log


def test_once_exits_1_when_an_examination_stays(config_file, watch_dir, camera, stub):
    exam = camera.examination(SUBJECT)  # not registered on the server
    assert main(["--config", str(config_file), "--once"]) == 1
    assert (watch_dir / exam.folder).is_dir()


def test_flags_override_the_config_file_on_the_command_line(config_file, watch_dir, camera, stub):
    registered_exam(camera, stub, report_type="per_eye")
    assert (
        main(
            [
                "--config",
                str(config_file),
                "--once",
                "--report-type",
                "per_eye",
                "--log-level",
                "DEBUG",
            ]
        )
        == 0
    )
    types = sorted(t for t, _ in stub.session_of(SUBJECT).files.values())
    assert types == ["left", "left_report", "right", "right_report"]
    assert "DEBUG" in (watch_dir / ".fundus-watchdog" / "watchdog.log").read_text()


def test_a_second_watchdog_on_the_same_folder_refuses_to_start(config_file, watch_dir, capsys):
    with InstanceLock(watch_dir / ".fundus-watchdog" / "watchdog.lock"):
        assert main(["--config", str(config_file), "--once"]) == 3
    assert "another fundus-watchdog is already running for this folder" in capsys.readouterr().err
    assert main(["--config", str(config_file), "--once"]) == 0  # free again


def test_a_missing_watch_folder_is_a_configuration_error(config_file, watch_dir, capsys):
    watch_dir.rmdir()
    assert main(["--config", str(config_file)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_status_shows_failing_subjects_and_finished_ones(
    config_file, watch_dir, camera, stub, capsys
):
    registered_exam(camera, stub, subject="105-10-0001-2")
    camera.examination("105-10-0002-4")  # unknown to the server: fails
    assert main(["--config", str(config_file), "--once"]) == 1
    capsys.readouterr()
    assert main(["status", "--config", str(config_file)]) == 1
    out = capsys.readouterr().out
    assert "105-10-0002-4: failing, 1 attempt(s)" in out and "not registered on the server" in out
    assert "105-10-0001-2: processed, 3 file(s)" in out


def test_the_documented_command_line_works_from_the_repository_root(
    config_file, tmp_path, watch_dir, camera, stub
):
    registered_exam(camera, stub)
    (tmp_path / "camera_config.json").write_text(config_file.read_text())
    # `uv run camera_watchdog.py --config camera_config.json`, with uv's interpreter.
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "camera_watchdog.py"),
            "--config",
            "camera_config.json",
            "--once",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert len(archived(watch_dir)) == 1
    assert "archived to" in done.stderr


def test_the_package_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "fundus_watchdog", "--version"], capture_output=True, text=True
    )
    assert done.stdout.strip() == f"fundus-watchdog {__version__}"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "service-stop"])
def test_the_running_watchdog_stops_cleanly_on_ctrl_c_or_a_service_stop(
    config_file, watch_dir, camera, stub, stop
):
    registered_exam(camera, stub)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "camera_watchdog.py"), "--config", str(config_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: archived(watch_dir), timeout=20)
        process.send_signal(stop)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "stopping (Ctrl+C or a stop request)" in err and err.rstrip().endswith("stopped")
