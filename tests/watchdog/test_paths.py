import sys

from fundus_watchdog import paths


def test_long_windows_paths_get_the_extended_prefix(monkeypatch):
    monkeypatch.setattr(paths.sys, "platform", "win32")
    monkeypatch.setattr(paths.os.path, "abspath", lambda p: p)
    assert paths.long_path("C:\\RetCamOutput\\x.jpg") == "\\\\?\\C:\\RetCamOutput\\x.jpg"
    assert paths.long_path("\\\\server\\share\\x.jpg") == "\\\\?\\UNC\\server\\share\\x.jpg"
    assert paths.long_path("\\\\?\\C:\\already") == "\\\\?\\C:\\already"


def test_other_systems_keep_paths_as_they_are(tmp_path):
    assert sys.platform != "win32"
    assert paths.long_path(tmp_path / "x") == str(tmp_path / "x")


def test_the_state_folder_is_created(tmp_path):
    paths.make_state_dir(tmp_path / "w" / ".fundus-watchdog")
    paths.make_state_dir(tmp_path / "w" / ".fundus-watchdog")  # again: no error
    assert (tmp_path / "w" / ".fundus-watchdog").is_dir()
