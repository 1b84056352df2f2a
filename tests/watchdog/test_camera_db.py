import sqlite3

import pytest

from fundus_watchdog.camera_db import CameraDb, CameraDbError

from .conftest import SUBJECT


def make_db(path, rows=(), patient=(SUBJECT, "AB", "M", 54), names=None):
    n = {
        "pt": "patients",
        "pid": "subject_identifier",
        "ini": "initials",
        "sex": "sex",
        "age": "age",
        "it": "images",
        "iid": "subject_identifier",
        "fn": "filename",
        "eye": "eye",
    } | (names or {})
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            f"CREATE TABLE {n['pt']} ({n['pid']} TEXT, {n['ini']} TEXT, {n['sex']} TEXT, {n['age']})"
        )
        conn.execute(f"CREATE TABLE {n['it']} ({n['iid']} TEXT, {n['fn']} TEXT, {n['eye']} TEXT)")
        if patient:
            conn.execute(f"INSERT INTO {n['pt']} VALUES (?, ?, ?, ?)", patient)
        conn.executemany(
            f"INSERT INTO {n['it']} VALUES (?, ?, ?)", [(SUBJECT, f, e) for f, e in rows]
        )
    conn.close()


def test_it_reads_demographics_and_the_eye_of_each_file(make_config, watch_dir):
    make_db(watch_dir / "camera.db", [("a1b2c3d4.jpg", "OD"), ("e5f6a7b8.jpg", "LE")])
    record = CameraDb(make_config()).lookup(SUBJECT)
    assert record.found
    assert record.demographics == {"initials": "AB", "sex": "M", "age": 54}
    assert record.eye_value("a1b2c3d4.jpg") == "OD"
    assert record.eye_value("E5F6A7B8.JPG") == "LE"
    assert record.eye_value("other.jpg") is None


def test_file_names_stored_as_windows_paths_or_without_extension_still_match(
    make_config, watch_dir
):
    make_db(
        watch_dir / "camera.db",
        [("C:\\RetCamOutput\\105-10-0989-3\\a1b2c3d4.jpg", "R"), ("e5f6a7b8", "L")],
    )
    record = CameraDb(make_config()).lookup(SUBJECT)
    assert record.eye_value("a1b2c3d4.jpg") == "R"
    assert record.eye_value("e5f6a7b8.jpg") == "L"


def test_vendor_table_and_column_names_come_from_the_config(make_config, watch_dir):
    names = {"pt": "Exams", "pid": "patient_code", "it": "CapturedFiles", "eye": "laterality"}
    make_db(watch_dir / "camera.db", [("x.jpg", "OS")], names=names)
    config = make_config(
        db_patient_table="Exams",
        db_patient_subject_id="patient_code",
        db_image_table="CapturedFiles",
        db_image_eye="laterality",
    )
    record = CameraDb(config).lookup(SUBJECT)
    assert record.eye_value("x.jpg") == "OS"
    assert record.demographics["initials"] == "AB"


@pytest.mark.parametrize(
    "patient, expected",
    [
        ((SUBJECT, " ab ", "female", "54"), {"initials": "ab", "sex": "F", "age": 54}),
        ((SUBJECT, "", "", None), {}),  # empty means not sent
        ((SUBJECT, "CD", "X", "about sixty"), {"initials": "CD", "age": "about sixty"}),
        ((SUBJECT, "CD", "m", 61.0), {"initials": "CD", "sex": "M", "age": 61}),
    ],
)
def test_demographics_are_sent_as_the_camera_has_them(make_config, watch_dir, patient, expected):
    make_db(watch_dir / "camera.db", patient=patient)
    assert CameraDb(make_config()).lookup(SUBJECT).demographics == expected


def test_a_subject_unknown_to_the_camera_gives_an_empty_record(make_config, watch_dir):
    make_db(watch_dir / "camera.db", patient=None)
    record = CameraDb(make_config()).lookup(SUBJECT)
    assert record.found and record.demographics == {} and record.eyes == {}


def test_the_camera_database_is_opened_read_only(make_config, watch_dir):
    make_db(watch_dir / "camera.db")
    db = CameraDb(make_config())
    with db.connect() as conn, pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM patients")
    assert sqlite3.connect(watch_dir / "camera.db").execute(
        "SELECT COUNT(*) FROM patients"
    ).fetchone() == (1,)


def test_a_missing_database_or_a_wrong_mapping_is_a_clear_error(make_config, watch_dir):
    with pytest.raises(CameraDbError, match="camera database not found"):
        CameraDb(make_config()).lookup(SUBJECT)
    make_db(watch_dir / "camera.db")
    with pytest.raises(CameraDbError, match="no such column: laterality"):
        CameraDb(make_config(db_image_eye="laterality")).lookup(SUBJECT)


def test_no_configured_database_gives_an_empty_record(make_config):
    record = CameraDb(make_config(db_path="")).lookup(SUBJECT)
    assert not record.found and record.eyes == {}


def test_describe_lists_tables_and_columns_even_with_odd_names(make_config, watch_dir):
    make_db(watch_dir / "camera.db")
    conn = sqlite3.connect(watch_dir / "camera.db")
    conn.execute('CREATE TABLE "Vendor Log" ("when" TEXT)')
    conn.close()
    tables = CameraDb(make_config()).describe()
    assert tables["patients"] == ["subject_identifier", "initials", "sex", "age"]
    assert tables["Vendor Log"] == ["when"]


def test_the_read_only_uri_suits_windows_drives_shares_and_odd_names():
    from fundus_watchdog.camera_db import read_only_uri

    assert read_only_uri("C:\\RetCamOutput\\camera.db") == "file:/C:/RetCamOutput/camera.db?mode=ro"
    assert (
        read_only_uri("\\\\cam-pc\\share\\camera.db") == "file:////cam-pc/share/camera.db?mode=ro"
    )
    assert (
        read_only_uri("/data/Ret Cam #1/camera?.db")
        == "file:/data/Ret%20Cam%20%231/camera%3F.db?mode=ro"
    )


def test_a_database_in_a_folder_with_odd_characters_opens(make_config, tmp_path):
    folder = tmp_path / "Ret Cam #1 (100%)"
    folder.mkdir()
    make_db(folder / "camera.db")
    assert (
        CameraDb(make_config(db_path=str(folder / "camera.db")))
        .lookup(SUBJECT)
        .demographics["initials"]
        == "AB"
    )
