import sqlite3

from fundus_watchdog.journal import Journal


def test_sessions_and_files_survive_a_reopen(tmp_path):
    path = tmp_path / "j" / "journal.sqlite3"
    journal = Journal(path)
    journal.start_session("105-10-0989-3_", "105-10-0989-3", "42", ["left"])
    journal.mark_file("105-10-0989-3_", "a.jpg", "ab" * 32, "left", "42", "uploaded")
    journal.mark_file("105-10-0989-3_", "b.jpg", "cd" * 32, "right", "42", "sending")
    journal.close()

    journal = Journal(path)
    entry = journal.subject("105-10-0989-3_")
    assert (entry.subject_identifier, entry.session_id, entry.baseline, entry.state) == (
        "105-10-0989-3",
        "42",
        ["left"],
        "uploading",
    )
    assert [(f.filename, f.state) for f in journal.files("105-10-0989-3_")] == [
        ("a.jpg", "uploaded"),
        ("b.jpg", "sending"),
    ]
    journal.close()


def test_an_unknown_baseline_stays_unknown(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    journal.start_session("f", "s", "1", None)
    assert journal.subject("f").baseline is None
    journal.close()


def test_problems_count_attempts_and_clear(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    journal.record_problem("f", "s", "failing", "server down", 123.0)
    journal.record_problem("f", "s", "failing", "server still down", 456.0)
    entry = journal.subject("f")
    assert (entry.state, entry.attempts, entry.last_error, entry.next_attempt) == (
        "failing",
        2,
        "server still down",
        456.0,
    )
    journal.clear_problem("f")
    entry = journal.subject("f")
    assert (entry.state, entry.attempts, entry.last_error) == ("uploading", 0, None)
    journal.close()


def test_a_finished_move_closes_the_entry_and_keeps_history(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    journal.start_session("f", "s", "7", [])
    journal.mark_file("f", "a.jpg", "0" * 64, "left", "7", "uploaded")
    journal.begin_move("f", "s", "archiving", tmp_path / "processed" / "s_20260101_000000")
    assert journal.subject("f").state == "archiving"
    journal.finish_move("f", "processed")
    assert journal.subject("f") is None and journal.files("f") == []
    (folder, subject, session, outcome, path, files, _) = journal.history()[0]
    assert (folder, subject, session, outcome, files) == ("f", "s", "7", "processed", 1)
    assert path.endswith("s_20260101_000000")
    journal.close()


def test_a_journal_from_before_upload_acknowledgements_opens_and_keeps_its_files(tmp_path):
    path = tmp_path / "journal.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(  # the files table as earlier versions created it
        "CREATE TABLE files (folder TEXT NOT NULL, filename TEXT NOT NULL, checksum TEXT NOT NULL,"
        " file_type TEXT NOT NULL, session_id TEXT NOT NULL, state TEXT NOT NULL, code TEXT,"
        " message TEXT, updated REAL NOT NULL, PRIMARY KEY (folder, filename));"
        " INSERT INTO files VALUES ('f', 'a.jpg', 'ab', 'left', '7', 'uploaded', NULL, NULL, 0);"
    )
    conn.close()
    journal = Journal(path)
    assert journal.file("f", "a.jpg").acknowledged is None
    journal.mark_file("f", "b.jpg", "cd", "right", "7", "uploaded", acknowledged="7")
    assert journal.file("f", "b.jpg").acknowledged == "7"
    journal.close()
