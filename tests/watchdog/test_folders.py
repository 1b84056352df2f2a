from pathlib import Path

import pytest

from fundus_watchdog.camera_db import SubjectRecord
from fundus_watchdog.folders import (
    candidate_files,
    plan_examination,
    subject_folder_of,
    subject_folders,
    subject_identifier,
)

D = Path("/w/105-10-0989-3")


def record(**eyes):
    return SubjectRecord(eyes={k.replace("_", "."): v for k, v in eyes.items()}, found=True)


def plan(names, rec=None, config=None):
    return plan_examination([D / n for n in names], rec or SubjectRecord(found=True), config)


@pytest.mark.parametrize(
    "name, subject",
    [
        ("105-10-0989-3", "105-10-0989-3"),
        ("105-10-0989-3_", "105-10-0989-3"),  # the newer camera's extra text
        ("105-10-0989-3_2nd visit", "105-10-0989-3"),
        ("processed", None),
        ("rejected", None),
        (".fundus-watchdog", None),
        ("$RECYCLE.BIN", None),
        ("x" * 51, None),
    ],
)
def test_the_subject_is_read_from_the_folder_name(make_config, name, subject):
    assert subject_identifier(name, make_config()) == subject


def test_a_custom_folder_regex_picks_the_named_group(make_config):
    config = make_config(subject_folder_regex=r"^EXAM-(?P<subject_identifier>\d+)$")
    assert subject_identifier("EXAM-1234", config) == "1234"
    assert subject_identifier("105-10-0989-3", config) is None


def test_scans_skip_the_archive_the_rejected_and_the_journal_folders(make_config, watch_dir):
    for name in ("105-10-0989-3", "105-10-0001-2_", "processed", "rejected", ".fundus-watchdog"):
        (watch_dir / name).mkdir()
    (watch_dir / "camera.db").write_bytes(b"")
    assert [p.name for p in subject_folders(make_config())] == ["105-10-0001-2_", "105-10-0989-3"]


def test_an_event_path_maps_to_its_subject_folder(make_config, watch_dir):
    config = make_config()
    assert (
        subject_folder_of(watch_dir / "105-10-0989-3" / "a.jpg", config)
        == watch_dir / "105-10-0989-3"
    )
    assert subject_folder_of(watch_dir / "105-10-0989-3", config) == watch_dir / "105-10-0989-3"
    assert subject_folder_of(watch_dir / "processed" / "x" / "a.jpg", config) is None
    assert subject_folder_of(watch_dir / ".fundus-watchdog" / "journal.sqlite3", config) is None
    assert subject_folder_of(watch_dir, config) is None
    assert subject_folder_of(Path("/elsewhere/a.jpg"), config) is None


def test_only_images_dicoms_and_reports_are_candidates(tmp_path):
    for name in (
        "a.jpg",
        "b.JPEG",
        "c.png",
        "d.dcm",
        "e.html",
        "f.htm",
        "g.pdf",
        "h.tmp",
        ".i.jpg",
        "~j.html",
        "Thumbs.db",
        "k.xml",
    ):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.jpg").mkdir()
    assert [p.name for p in candidate_files(tmp_path)] == [
        "a.jpg",
        "b.JPEG",
        "c.png",
        "d.dcm",
        "e.html",
        "f.htm",
        "g.pdf",
    ]


def test_combined_is_ready_with_a_left_a_right_and_one_report(make_config):
    p = plan(["a.jpg", "b.jpg", "c.html"], record(a_jpg="L", b_jpg="OD"), make_config())
    assert p.ready
    assert sorted((f.path.name, f.file_type) for f in p.uploads) == [
        ("a.jpg", "left"),
        ("b.jpg", "right"),
        ("c.html", "report"),
    ]


def test_two_images_of_the_same_eye_are_not_both_eyes(make_config):
    p = plan(["a.jpg", "b.jpg", "c.html"], record(a_jpg="L", b_jpg="LEFT"), make_config())
    assert not p.ready
    assert p.missing == ["right image"]


def test_readiness_is_by_eye_not_by_count(make_config):
    # Four files, more than the documented three, but no right eye: not ready.
    p = plan(
        ["a.jpg", "b.jpg", "c.jpg", "d.html"],
        record(a_jpg="L", b_jpg="L", c_jpg="OS"),
        make_config(),
    )
    assert not p.ready
    # A retake: three images, both eyes among them: ready, and all three go up.
    p = plan(
        ["a.jpg", "b.jpg", "c.jpg", "d.html"],
        record(a_jpg="L", b_jpg="L", c_jpg="R"),
        make_config(),
    )
    assert p.ready and len(p.uploads) == 4


def test_combined_waits_for_the_report(make_config):
    p = plan(["a.jpg", "b.jpg"], record(a_jpg="L", b_jpg="R"), make_config())
    assert p.missing == ["report"]


def test_per_eye_needs_a_report_for_each_eye(make_config):
    config = make_config(report_type="per_eye")
    rec = record(a_jpg="L", b_jpg="R", c_html="LE", d_html="RE")
    p = plan(["a.jpg", "b.jpg", "c.html", "d.html"], rec, config)
    assert p.ready
    assert {f.path.name: f.file_type for f in p.uploads} == {
        "a.jpg": "left",
        "b.jpg": "right",
        "c.html": "left_report",
        "d.html": "right_report",
    }
    p = plan(["a.jpg", "b.jpg", "c.html"], rec, config)
    assert p.missing == ["right report"]
    # Two reports of the same eye are not both reports.
    p = plan(
        ["a.jpg", "b.jpg", "c.html", "d.html"],
        record(a_jpg="L", b_jpg="R", c_html="L", d_html="L"),
        config,
    )
    assert p.missing == ["right report"]


def test_no_require_html_makes_the_images_enough(make_config):
    p = plan(["a.jpg", "b.jpg"], record(a_jpg="L", b_jpg="R"), make_config(require_html=False))
    assert p.ready


def test_dicoms_go_up_as_left_dicom_and_right_dicom_and_jpegs_only_if_asked(make_config):
    rec = record(a_dcm="OS", b_dcm="OD", c_jpg="L", d_jpg="R")
    names = ["a.dcm", "b.dcm", "c.jpg", "d.jpg", "e.html"]
    p = plan(names, rec, make_config())
    assert p.ready
    assert {f.path.name: f.file_type for f in p.uploads} == {
        "a.dcm": "left_dicom",
        "b.dcm": "right_dicom",
        "e.html": "report",
    }
    assert [s.name for s, _ in p.skipped] == ["c.jpg", "d.jpg"]
    p = plan(names, rec, make_config(include_jpgs=True))
    assert {f.file_type for f in p.uploads} == {
        "left_dicom",
        "right_dicom",
        "left",
        "right",
        "report",
    }


def test_png_images_count_as_eye_images(make_config):
    p = plan(["a.png", "b.png", "c.html"], record(a_png="L", b_png="R"), make_config())
    assert p.ready


def test_without_a_database_row_the_eye_comes_from_the_file_name(make_config):
    p = plan(["IMG_OS.jpg", "PHOTOS_OD.jpg", "r.html"], SubjectRecord(found=True), make_config())
    assert p.ready
    assert {f.path.name: (f.file_type, f.source) for f in p.uploads if f.source} == {
        "IMG_OS.jpg": ("left", "file name"),
        "PHOTOS_OD.jpg": ("right", "file name"),
    }


def test_a_file_without_an_eye_is_reported_not_guessed(make_config):
    p = plan(
        ["a.jpg", "b.jpg", "c.jpg", "d.html"],
        record(a_jpg="L", b_jpg="R", c_jpg="OU"),
        make_config(),
    )
    assert p.ready  # the examination is there...
    assert [(f.name, why) for f, why in p.unmapped] == [
        ("c.jpg", "the camera database says eye 'OU', which is not a known spelling")
    ]  # ...but c.jpg is not dropped silently
    p = plan(["a.jpg", "b.jpg", "x.jpg", "d.html"], record(a_jpg="L", b_jpg="R"), make_config())
    assert p.unmapped[0][1] == "no row in the camera database and no eye in the file name"


def test_per_eye_reports_without_an_eye_are_reported(make_config):
    p = plan(
        ["a.jpg", "b.jpg", "c.html", "d.html"],
        record(a_jpg="L", b_jpg="R", c_html="L"),
        make_config(report_type="per_eye"),
    )
    assert [f.name for f, _ in p.unmapped] == ["d.html"]
    assert p.missing == ["right report"]
