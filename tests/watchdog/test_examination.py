import logging
import re
import sqlite3

import pytest

from fundus_watchdog import examination as examination_module
from fundus_watchdog.camera_db import CameraDb
from fundus_watchdog.client import CameraApi, sha256_of
from fundus_watchdog.examination import Examinations, Outcome, recover_moves
from fundus_watchdog.folders import candidate_files
from fundus_watchdog.journal import Journal
from fundus_watchdog.simulate import LEFT_SPELLINGS, RIGHT_SPELLINGS

from .conftest import SUBJECT, registered_exam


class Killed(BaseException):
    """The process dies here (nothing catches it, like SIGKILL)."""


@pytest.fixture
def make_processor(make_config):
    opened = []

    def make(server, **overrides):
        config = make_config(server, **overrides)
        config.state_dir.mkdir(parents=True, exist_ok=True)
        api = CameraApi(
            config.api_url,
            config.token,
            timeout=2,
            retries=3,
            retry_delay=0.01,
            max_retry_delay=0.05,
        )
        journal = Journal(config.journal_path)
        opened.append((api, journal))
        return Examinations(config, api, journal, CameraDb(config))

    yield make
    for api, journal in opened:
        api.close()
        journal.close()


def run(processor, subject=SUBJECT):
    folder = processor.config.watch_dir / subject
    return processor.process(folder, candidate_files(folder))


def processed(watch_dir):
    return sorted((watch_dir / "processed").iterdir()) if (watch_dir / "processed").exists() else []


def set_eye(watch_dir, filename, eye):
    conn = sqlite3.connect(watch_dir / "camera.db")
    with conn:
        conn.execute("UPDATE images SET eye = ? WHERE filename = ?", (eye, filename))
    conn.close()


def test_a_combined_examination_goes_up_by_eye_and_is_archived(
    stub, camera, make_processor, watch_dir
):
    exam = registered_exam(camera, stub)
    result = run(make_processor(stub))
    assert result.outcome is Outcome.ARCHIVED
    session = stub.session_of(SUBJECT)
    by_type = {t: name for name, (t, _) in session.files.items()}
    left, right, report = exam.files
    assert by_type == {"left": left.name, "right": right.name, "report": report.name}
    assert session.complete()
    (archive,) = processed(watch_dir)
    assert sorted(p.name for p in archive.iterdir()) == sorted(f.name for f in exam.files)
    assert not (watch_dir / SUBJECT).exists()


def test_a_per_eye_examination_sends_each_report_to_its_eye(stub, camera, make_processor):
    exam = registered_exam(camera, stub, report_type="per_eye")
    assert run(make_processor(stub, report_type="per_eye")).outcome is Outcome.ARCHIVED
    files = stub.session_of(SUBJECT).files
    assert {files[f.name][0] for f in exam.files} == {
        "left",
        "right",
        "left_report",
        "right_report",
    }
    assert all(files[f.name][0].startswith(f.eye) for f in exam.files)


@pytest.mark.parametrize("left, right", list(zip(LEFT_SPELLINGS, RIGHT_SPELLINGS, strict=True)))
def test_every_eye_spelling_lands_on_the_right_endpoint(
    stub, camera, make_processor, watch_dir, left, right
):
    exam = registered_exam(camera, stub)
    set_eye(watch_dir, exam.files[0].name, left)
    set_eye(watch_dir, exam.files[1].name, right)
    assert run(make_processor(stub)).outcome is Outcome.ARCHIVED
    files = stub.session_of(SUBJECT).files
    assert (files[exam.files[0].name][0], files[exam.files[1].name][0]) == ("left", "right")


def test_demographics_device_and_site_go_with_resolve(stub, camera, make_processor):
    exam = registered_exam(camera, stub)
    run(make_processor(stub))
    sent = stub.requests[0]["json"]
    assert sent["subject_identifier"] == SUBJECT
    assert (sent["initials"], sent["sex"], int(sent["age"])) == (exam.initials, exam.sex, exam.age)
    assert (sent["device_id"], sent["site_id"], sent["report_type"]) == (
        "RET-CAM-001",
        "40",
        "combined",
    )


def test_the_newer_server_is_served_with_its_register_id(newer_stub, camera, make_processor):
    register = newer_stub.add_register(SUBJECT)
    camera.examination(SUBJECT)
    assert run(make_processor(newer_stub)).outcome is Outcome.ARCHIVED
    uploads = newer_stub.uploads()
    assert len(uploads) == 3 and register.complete()
    assert all(u["query"]["eye_exam_register_id"] == [register.id] for u in uploads)
    assert all(u["fields"]["capture_datetime"] for u in uploads)


def test_no_eligible_session_moves_the_folder_to_rejected_and_says_what_to_do(
    newer_stub, camera, make_processor, watch_dir, caplog
):
    newer_stub.add_register(SUBJECT, complete=True)
    camera.examination(SUBJECT)
    caplog.set_level(logging.ERROR, "fundus_watchdog")
    result = run(make_processor(newer_stub))
    assert result.outcome is Outcome.REJECTED
    (rejected,) = (watch_dir / "rejected").iterdir()
    assert re.fullmatch(rf"{SUBJECT}_\d{{8}}_\d{{6}}", rejected.name)
    assert "staff must open a new one on the server" in caplog.text and str(rejected) in caplog.text
    assert newer_stub.uploads() == []


def test_an_unknown_subject_fails_with_advice_and_the_folder_stays(
    stub, camera, make_processor, watch_dir
):
    camera.examination(SUBJECT)
    result = run(make_processor(stub))
    assert result.outcome is Outcome.FAILED
    assert "not registered on the server" in result.message
    assert (watch_dir / SUBJECT).is_dir() and stub.uploads() == []


def test_demographics_that_do_not_match_the_registry_are_explained(stub, camera, make_processor):
    exam = camera.examination(SUBJECT)
    stub.register(SUBJECT, "ZZ", "F" if exam.sex == "M" else "M", exam.age)
    result = run(make_processor(stub))
    assert result.outcome is Outcome.FAILED
    assert "do not match the server's registry (initials; sex)" in result.message


def test_an_unmapped_image_blocks_archiving_and_is_reported(
    stub, camera, make_processor, watch_dir
):
    exam = registered_exam(camera, stub)
    extra = watch_dir / SUBJECT / "f00dfeed.jpg"
    extra.write_bytes((watch_dir / SUBJECT / exam.files[0].name).read_bytes() + b"retake")
    processor = make_processor(stub)
    result = run(processor)
    assert result.outcome is Outcome.BLOCKED
    assert (
        "f00dfeed.jpg: no row in the camera database and no eye in the file name" in result.message
    )
    assert (watch_dir / SUBJECT).is_dir() and processed(watch_dir) == []
    assert len(stub.created) == 3  # the others did go up
    # Staff add the missing row: the image goes up and the folder is archived.
    conn = sqlite3.connect(watch_dir / "camera.db")
    with conn:
        conn.execute(
            "INSERT INTO images (subject_identifier, filename, eye) VALUES (?, ?, 'OD')",
            (SUBJECT, extra.name),
        )
    conn.close()
    assert run(processor).outcome is Outcome.ARCHIVED
    assert stub.session_of(SUBJECT).files[extra.name][0] == "right"


def test_a_file_the_server_refuses_is_not_sent_again_until_it_changes(
    stub, camera, make_processor, watch_dir
):
    exam = registered_exam(camera, stub)
    right = exam.files[1].name
    stub.fail(
        "/right/", times=99, status=400, body={"code": "invalid_content", "error": "not a JPEG"}
    )
    processor = make_processor(stub)
    for _ in range(3):
        result = run(processor)
        assert result.outcome is Outcome.BLOCKED
        assert (
            f"{right}: the server says the file's content does not match its type" in result.message
        )
    assert stub.hits("/right/") == 1  # tried once, then left alone
    stub.faults.clear()
    path = watch_dir / SUBJECT / right
    path.write_bytes(path.read_bytes() + b"fixed")  # a new file under the same name: tried again
    assert run(processor).outcome is Outcome.ARCHIVED


def test_files_the_journal_confirms_are_not_sent_again(stub, camera, make_processor):
    registered_exam(camera, stub)
    stub.fail("/status/", times=3, status=503)
    processor = make_processor(stub)
    assert run(processor).outcome is Outcome.FAILED  # everything sent, status unreachable
    assert len(stub.uploads()) == 3
    assert run(processor).outcome is Outcome.ARCHIVED
    assert len(stub.uploads()) == 3


CRASH_POINTS = [
    "after resolve",
    "before a POST",
    "after a POST",
    "before status",
    "before the move",
    "after the move",
]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_kill_at_any_step_resumes_with_no_duplicate_and_no_lost_file(
    stub, camera, make_processor, watch_dir, monkeypatch, point
):
    exam = registered_exam(camera, stub, report_type="per_eye")
    first = make_processor(stub, report_type="per_eye")
    calls = {"n": 0}

    def die_on(obj, name, when=lambda *a, **k: True):
        real = getattr(obj, name)

        def wrapper(*args, **kwargs):
            if when(*args, **kwargs):
                raise Killed(point)
            return real(*args, **kwargs)

        monkeypatch.setattr(obj, name, wrapper)

    if point == "after resolve":
        die_on(first.journal, "start_session")
    elif point == "before a POST":
        die_on(
            first.api,
            "upload",
            lambda *a, **k: calls.__setitem__("n", calls["n"] + 1) or calls["n"] == 2,
        )
    elif point == "after a POST":
        # The server stored it; we die before writing "uploaded" in the journal.
        die_on(
            first.journal,
            "mark_file",
            lambda *a, **k: a[5] == "uploaded" and a[1] == exam.files[2].name,
        )
    elif point == "before status":
        die_on(first.api, "status")
    elif point == "before the move":
        monkeypatch.setattr(
            examination_module, "move_folder", lambda *a: (_ for _ in ()).throw(Killed(point))
        )
    elif point == "after the move":  # renamed, but the journal entry is still open
        die_on(first.journal, "finish_move")

    with pytest.raises(Killed):
        run(first)
    monkeypatch.undo()

    restarted = make_processor(
        stub, report_type="per_eye"
    )  # a new process: new journal handle, new client
    recover_moves(restarted.journal)
    if (watch_dir / SUBJECT).exists():
        assert run(restarted).outcome is Outcome.ARCHIVED

    names = [name for _, name in stub.created]
    assert sorted(names) == sorted(f.name for f in exam.files)  # every file stored exactly once
    assert len(stub.sessions) == 1
    (archive,) = processed(watch_dir)
    assert len(list(archive.iterdir())) == 4 and not (watch_dir / SUBJECT).exists()
    assert restarted.journal.subjects() == []
    if point == "after a POST":  # the server's own list proved it arrived: not even re-sent
        assert len(stub.uploads(exam.files[2].name)) == 1


def test_an_answer_lost_for_one_of_two_same_eye_images_is_resent_harmlessly(
    stub, camera, make_processor, watch_dir
):
    exam = registered_exam(camera, stub)
    retake = watch_dir / SUBJECT / "retake.jpg"
    retake.write_bytes((watch_dir / SUBJECT / exam.files[0].name).read_bytes() + b"2")
    set_eye(watch_dir, "x", "x")
    conn = sqlite3.connect(watch_dir / "camera.db")
    with conn:
        conn.execute(
            "INSERT INTO images (subject_identifier, filename, eye) VALUES (?, 'retake.jpg', 'L')",
            (SUBJECT,),
        )
    conn.close()
    processor = make_processor(stub)
    stub.fail("/left/", hang=1.0, after_store=True)  # the first left image's answer never comes
    processor.api.timeout = 0.3
    assert run(processor).outcome is Outcome.ARCHIVED
    assert len(stub.created) == 4


def test_the_archive_is_named_subject_and_timestamp_and_never_overwrites(
    stub, camera, make_processor, watch_dir
):
    registered_exam(camera, stub)
    processor = make_processor(stub)
    taken = examination_module.archive_name(SUBJECT)
    (watch_dir / "processed" / taken).mkdir(parents=True)
    monkeypatch_name = examination_module.archive_name
    try:
        examination_module.archive_name = lambda subject: taken
        assert run(processor).outcome is Outcome.ARCHIVED
    finally:
        examination_module.archive_name = monkeypatch_name
    assert [p.name for p in processed(watch_dir)] == [taken, f"{taken}_2"]
    assert re.fullmatch(rf"{re.escape(SUBJECT)}_\d{{8}}_\d{{6}}", taken)


def test_a_folder_locked_by_another_program_is_moved_later_not_failed(
    stub, camera, make_processor, watch_dir, monkeypatch
):
    registered_exam(camera, stub)
    real_move = examination_module.move_folder
    attempts = []

    def locked_once(source, target):
        attempts.append(target)
        if len(attempts) == 1:
            raise PermissionError(
                32,
                "The process cannot access the file because it is being used by another process",
                str(source / "a.jpg"),
            )
        real_move(source, target)

    monkeypatch.setattr(examination_module, "move_folder", locked_once)
    processor = make_processor(stub)
    result = run(processor)
    assert result.outcome is Outcome.LOCKED
    assert "still open in another program" in result.message
    assert (watch_dir / SUBJECT).is_dir()
    assert processor.journal.subject(SUBJECT).state == "uploading"
    assert run(processor).outcome is Outcome.ARCHIVED
    assert len(stub.uploads()) == 3  # nothing re-sent for the second try


def test_everything_sent_but_incomplete_on_the_server_keeps_the_folder(
    newer_stub, camera, make_processor, watch_dir
):
    newer_stub.add_register(SUBJECT)
    exam = camera.examination(SUBJECT)
    (watch_dir / SUBJECT / exam.files[2].name).unlink()  # no report, and we do not wait for one
    result = run(make_processor(newer_stub, require_html=False))
    assert result.outcome is Outcome.FAILED
    assert "the server says the examination is incomplete (missing: report)" in result.message
    assert (watch_dir / SUBJECT).is_dir()


def two_registers(server):
    """The subject's older register is open; a newer one is contraindicated, so resolve (and
    every upload) uses the older one, while 1.4.0's status describes the newer one."""
    older = server.add_register(SUBJECT, created=1000.0)
    newer = server.add_register(SUBJECT, contraindicated=True, created=2000.0)
    return older, newer


def test_on_edc_retinopathy_1_4_0_a_subject_with_two_registers_is_archived_from_the_upload_answers(
    stub_1_4_0, camera, make_processor, watch_dir, caplog
):
    older, newer = two_registers(stub_1_4_0)
    camera.examination(SUBJECT)
    caplog.set_level(logging.INFO, "fundus_watchdog")
    result = run(make_processor(stub_1_4_0))
    assert result.outcome is Outcome.ARCHIVED, result.message
    assert older.complete() and newer.files == {}
    assert len(processed(watch_dir)) == 1
    assert (
        f"every file was acknowledged in register {older.id} with a matching checksum, so it is"
        f" complete there; the server's status described register {newer.id} instead"
    ) in caplog.text


def test_on_1_4_0_a_file_whose_answer_did_not_confirm_it_keeps_the_folder_and_says_why(
    stub_1_4_0, camera, make_processor, watch_dir
):
    older, newer = two_registers(stub_1_4_0)
    camera.examination(SUBJECT)
    stub_1_4_0.fail("/left/", status=201, body={"id": "x"}, after_store=True)  # no ids, no checksum
    result = run(make_processor(stub_1_4_0))
    assert result.outcome is Outcome.FAILED
    assert (
        f"the server's status describes another examination (register {newer.id}, not"
        f" {older.id} where the files went)" in result.message
    )
    assert "incomplete (missing" not in result.message  # not blamed on the report type
    assert (watch_dir / SUBJECT).is_dir()


def test_on_1_4_0_another_registers_list_never_proves_a_file_in_doubt_arrived(
    stub_1_4_0, camera, make_processor, watch_dir
):
    older, newer = two_registers(stub_1_4_0)
    newer.files = {"elsewhere.jpg": ("left", "")}  # the newest register already has a left image
    exam = camera.examination(SUBJECT)
    processor = make_processor(stub_1_4_0)
    left = exam.files[0].name
    processor.journal.start_session(SUBJECT, SUBJECT, older.id, [])
    processor.journal.mark_file(  # killed after "sending", before the POST went out
        SUBJECT, left, sha256_of(watch_dir / SUBJECT / left), "left", older.id, "sending"
    )
    assert run(processor).outcome is Outcome.ARCHIVED
    assert older.files[left][0] == "left"


def test_a_session_gone_from_the_server_is_resolved_again(stub, camera, make_processor):
    registered_exam(camera, stub)
    processor = make_processor(stub)
    processor.journal.start_session(
        SUBJECT, SUBJECT, "999", []
    )  # a session the server no longer has
    assert run(processor).outcome is Outcome.ARCHIVED
    assert stub.session_of(SUBJECT).complete()


def test_without_a_camera_database_eyes_come_from_file_names(stub, make_processor, watch_dir):
    folder = watch_dir / SUBJECT
    folder.mkdir()
    (folder / "IMG_OS.jpg").write_bytes(b"\xff\xd8\xff" + b"l" * 50)
    (folder / "PHOTOS_OD.jpg").write_bytes(b"\xff\xd8\xff" + b"r" * 50)
    (folder / "report.html").write_text("<html></html>")
    stub.register(SUBJECT)
    assert run(make_processor(stub, db_path="")).outcome is Outcome.ARCHIVED
    files = stub.session_of(SUBJECT).files
    assert (files["IMG_OS.jpg"][0], files["PHOTOS_OD.jpg"][0]) == ("left", "right")


def test_without_a_camera_database_an_accented_name_is_held_back_not_read_as_right(
    stub, make_processor, watch_dir
):
    folder = watch_dir / SUBJECT
    folder.mkdir()
    (folder / "Rétine_OS.jpg").write_bytes(b"\xff\xd8\xff" + b"l" * 50)
    (folder / "Rétine_OD.jpg").write_bytes(b"\xff\xd8\xff" + b"r" * 50)
    (folder / "Rétine_gauche.jpg").write_bytes(b"\xff\xd8\xff" + b"g" * 50)
    (folder / "report.html").write_text("<html></html>")
    stub.register(SUBJECT)
    result = run(make_processor(stub, db_path=""))
    assert result.outcome is Outcome.BLOCKED
    assert (
        "Rétine_gauche.jpg: no eye in the file name (and no camera database configured)"
        in result.message
    )
    files = stub.session_of(SUBJECT).files
    assert {name: t for name, (t, _) in files.items()} == {
        "Rétine_OS.jpg": "left",
        "Rétine_OD.jpg": "right",
        "report.html": "report",
    }
    assert folder.is_dir()


def test_a_missing_camera_database_names_the_subject_and_folder_it_holds_back(
    stub, camera, make_processor, watch_dir
):
    registered_exam(camera, stub)
    (watch_dir / SUBJECT).rename(watch_dir / f"{SUBJECT}_")
    processor = make_processor(stub, db_path=str(watch_dir / "gone.db"))
    result = run(processor, f"{SUBJECT}_")
    assert result.outcome is Outcome.FAILED
    assert result.message == (
        f"subject {SUBJECT}: cannot read the camera database (camera database not found:"
        f" {watch_dir / 'gone.db'}); the folder {SUBJECT}_ waits until it can (check db_path"
        " and the db_* names with `fundus-watchdog check`)"
    )
    assert stub.requests == []


def test_a_file_that_vanished_meanwhile_is_waited_for_in_plain_words(
    stub, camera, make_processor, watch_dir
):
    registered_exam(camera, stub)
    folder = watch_dir / SUBJECT
    files = candidate_files(folder)
    files[0].unlink()  # gone between the listing and the upload
    result = make_processor(stub).process(folder, files)
    assert result.outcome is Outcome.WAITING
    assert result.message == (
        f"subject {SUBJECT}: cannot read {files[0]} yet (no such file or directory)"
    )


def test_a_file_arriving_at_the_last_moment_stops_the_archive(
    stub, camera, make_processor, watch_dir
):
    registered_exam(camera, stub)
    folder = watch_dir / SUBJECT
    files = candidate_files(folder)
    (folder / "late.html").write_text("<html>late</html>")
    processor = make_processor(stub)
    assert processor.process(folder, files).outcome is Outcome.WAITING
    assert folder.is_dir()
    assert run(processor).outcome is Outcome.ARCHIVED
    assert "late.html" in stub.session_of(SUBJECT).files


def test_an_incomplete_folder_waits_without_asking_the_server(
    stub, camera, make_processor, watch_dir
):
    exam = registered_exam(camera, stub)
    (watch_dir / SUBJECT / exam.files[1].name).unlink()
    result = run(make_processor(stub))
    assert result.outcome is Outcome.WAITING
    assert result.message == f"subject {SUBJECT}: waiting for right image"
    assert stub.requests == []
