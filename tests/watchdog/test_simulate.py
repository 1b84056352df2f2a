import io
import json
import re
import sqlite3
import sys
import threading

import pytest
from PIL import Image

from fundus_watchdog import simulate
from fundus_watchdog.eyes import normalise_eye
from fundus_watchdog.fundus_image import SimulatorNeedsPillow, fundus_picture, with_comment
from fundus_watchdog.service import Watchdog
from fundus_watchdog.simulate import LEFT_SPELLINGS, RIGHT_SPELLINGS, Camera, main

UUID_NAME = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.(jpg|html)"
)


def test_it_writes_examinations_shaped_like_the_cameras(tmp_path, capsys):
    out = tmp_path / "RetCamOutput"
    code = main(
        [
            "--out",
            str(out),
            "--count",
            "4",
            "--interval",
            "0",
            "--report-type",
            "mixed",
            "--chunk-delay",
            "0",
            "--image-size",
            "96x72",
            "--seed",
            "7",
            "--manifest",
            str(tmp_path / "manifest.json"),
        ]
    )
    assert code == 0
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == 4 and (out / "camera.db").is_file()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [m["report_type"] for m in manifest] == ["combined", "per_eye", "combined", "per_eye"]
    for folder, exam in zip(
        sorted(folders), sorted(manifest, key=lambda m: m["folder"]), strict=True
    ):
        assert (
            re.fullmatch(r"105-10-\d{4}-\d", folder.name)
            and folder.name == exam["subject_identifier"]
        )
        names = sorted(p.name for p in folder.iterdir())
        assert all(UUID_NAME.fullmatch(n) for n in names)
        jpgs = [n for n in names if n.endswith(".jpg")]
        htmls = [n for n in names if n.endswith(".html")]
        assert len(jpgs) == 2 and len(htmls) == (1 if exam["report_type"] == "combined" else 2)
        for name in jpgs:
            image = Image.open(folder / name)
            image.load()
            assert image.format == "JPEG" and image.size == (96, 72)
        for name in htmls:
            assert (folder / name).read_text().startswith("<!DOCTYPE html>")
    assert "wrote 105-10-" in capsys.readouterr().out


def test_the_camera_database_has_patients_and_images_in_every_eye_spelling(tmp_path):
    camera = Camera(tmp_path, chunk_delay=0, image_size=(32, 24), seed=1)
    exams = [camera.examination(f"105-10-{n:04d}-0", "per_eye") for n in range(8)]
    conn = sqlite3.connect(tmp_path / "camera.db")
    patients = conn.execute(
        "SELECT subject_identifier, initials, sex, age FROM patients"
    ).fetchall()
    images = conn.execute("SELECT subject_identifier, filename, eye FROM images").fetchall()
    conn.close()
    assert len(patients) == 8 and {p[2] for p in patients} <= {"M", "F"}
    assert len(images) == 8 * 4
    spellings = {eye for _, _, eye in images}
    assert set(LEFT_SPELLINGS) | set(RIGHT_SPELLINGS) <= spellings
    truth = {f.name: f.eye for e in exams for f in e.files}
    assert all(normalise_eye(eye) == truth[name] for _, name, eye in images)


def test_column_names_are_configurable(tmp_path):
    main(
        [
            "--out",
            str(tmp_path),
            "--count",
            "1",
            "--chunk-delay",
            "0",
            "--image-size",
            "32x24",
            "--db-patient-table",
            "Exams",
            "--db-patient-subject-id",
            "patient_code",
            "--db-image-table",
            "CapturedFiles",
            "--db-image-eye",
            "laterality",
        ]
    )
    conn = sqlite3.connect(tmp_path / "camera.db")
    assert conn.execute(
        "SELECT COUNT(*) FROM Exams WHERE patient_code LIKE '105-10-%'"
    ).fetchone() == (1,)
    assert conn.execute(
        "SELECT COUNT(*) FROM CapturedFiles WHERE laterality IS NOT NULL"
    ).fetchone() == (2,)
    conn.close()


def test_column_names_can_come_from_a_watchdog_config(tmp_path):
    config = tmp_path / "camera_config.json"
    config.write_text(json.dumps({"db_image_table": "Shots", "db_image_filename": "file_name"}))
    main(
        [
            "--out",
            str(tmp_path / "out"),
            "--count",
            "1",
            "--chunk-delay",
            "0",
            "--image-size",
            "32x24",
            "--config",
            str(config),
            "--subjects",
            "105-10-0989-3",
        ]
    )
    conn = sqlite3.connect(tmp_path / "out" / "camera.db")
    assert conn.execute("SELECT COUNT(*) FROM Shots WHERE file_name LIKE '%.jpg'").fetchone() == (
        2,
    )
    conn.close()
    assert (tmp_path / "out" / "105-10-0989-3").is_dir()


class SizesBetweenChunks(threading.Event):
    """The camera's pause between chunks, recording how big its files are at each pause."""

    def __init__(self, folder):
        super().__init__()
        self.folder, self.sizes, self.pauses = folder, set(), []

    def wait(self, timeout=None):
        self.pauses.append(timeout)
        self.sizes |= {path.stat().st_size for path in self.folder.glob("*/*.jpg")}
        return False


def test_files_are_written_slowly_in_chunks_like_a_camera(tmp_path):
    pause = SizesBetweenChunks(tmp_path)
    camera = Camera(
        tmp_path, chunk_size=512, chunk_delay=0.03, image_size=(96, 72), seed=1, stop_event=pause
    )
    exam = camera.examination("105-10-0989-3")
    whole = {
        (tmp_path / exam.folder / f.name).stat().st_size for f in exam.files if f.kind == "image"
    }
    assert len(pause.sizes - whole) >= 3  # seen growing, not appearing whole
    assert set(pause.pauses) == {0.03}


class FakeTime:
    """The simulator's clock stands still; its sleeps are recorded, not slept."""

    def __init__(self):
        self.sleeps = []

    def monotonic(self):
        return 100.0

    def sleep(self, seconds):
        self.sleeps.append(seconds)


def test_examinations_come_at_the_configured_rate(tmp_path, monkeypatch):
    clock = FakeTime()
    monkeypatch.setattr(simulate, "time", clock)
    main(
        [
            "--out",
            str(tmp_path),
            "--count",
            "3",
            "--interval",
            "0.2",
            "--chunk-delay",
            "0",
            "--image-size",
            "32x24",
        ]
    )
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 3
    assert clock.sleeps == [0.2, 0.2]  # between examinations, not after the last


def test_without_pillow_the_simulator_names_the_extra_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if installed without the extra
    assert main(["--out", str(tmp_path / "out"), "--count", "1", "--chunk-delay", "0"]) == 2
    assert 'pip install "fundus-watchdog[simulate]"' in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SimulatorNeedsPillow, match=r"fundus-watchdog\[simulate\]"):
        Camera(tmp_path / "cam")


def test_the_pictures_are_fundus_like_with_the_disc_on_the_eyes_side():
    for eye, bright_side in (("right", "right"), ("left", "left")):
        image = Image.open(io.BytesIO(fundus_picture(eye, 0, 160, 120))).convert("L")
        row = [image.getpixel((x, 56)) for x in range(160)]
        left_half, right_half = max(row[:80]), max(row[80:])
        assert (right_half > left_half) == (bright_side == "right")
        assert image.getpixel((2, 2)) < 20  # black outside the circular field


def test_every_file_gets_its_own_bytes_but_stays_a_valid_jpeg():
    picture = fundus_picture("left", 1, 32, 24)
    a, b = with_comment(picture, "file a"), with_comment(picture, "file b")
    assert a != b and a[:2] == b"\xff\xd8" and a.endswith(b"\xff\xd9")
    assert Image.open(io.BytesIO(a)).size == (32, 24)


def test_the_watchdog_takes_the_simulators_output_as_it_is(tmp_path, stub, make_config, watch_dir):
    main(
        [
            "--out",
            str(watch_dir),
            "--count",
            "3",
            "--interval",
            "0",
            "--report-type",
            "mixed",
            "--chunk-delay",
            "0",
            "--image-size",
            "48x36",
            "--seed",
            "3",
            "--manifest",
            str(tmp_path / "m.json"),
        ]
    )
    for exam in json.loads((tmp_path / "m.json").read_text()):
        stub.register(exam["subject_identifier"], exam["initials"], exam["sex"], exam["age"])
    assert Watchdog(make_config(stub, stable_seconds=0.05)).run_once() == 0
    assert len(list((watch_dir / "processed").iterdir())) == 3
    assert len(stub.created) == 2 * 3 + 1 + 2 + 1
