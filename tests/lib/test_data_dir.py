"""The data directory (database, originals, staging, secret key) is readable by its owner only."""

import os
import stat
import subprocess
import sys

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def run_fundushub(data_dir, *args):
    """Run as an administrator would, with the usual umask 022 that makes files world-readable."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["FUNDUSHUB_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "fundushub", "manage", *args],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stderr
    return result


def test_a_new_data_dir_and_everything_in_it_is_private(tmp_path):
    data = tmp_path / "hub"
    run_fundushub(data, "migrate", "--verbosity", "0")
    assert mode(data) == 0o700
    for name in ("fundushub.sqlite3", "secret_key"):
        assert mode(data / name) == 0o600, name
    for folder in ("media", "media/staging", "static"):
        assert mode(data / folder) == 0o700, folder


def test_an_existing_world_readable_data_dir_is_tightened_at_start(tmp_path):
    data = tmp_path / "old"
    (data / "media").mkdir(parents=True)
    (data / "fundushub.sqlite3").write_bytes(b"")
    (data / "secret_key").write_text("k" * 50)
    for path, old in [(data, 0o755), (data / "media", 0o775), (data / "secret_key", 0o644)]:
        os.chmod(path, old)
    os.chmod(data / "fundushub.sqlite3", 0o664)
    run_fundushub(data, "check")
    assert mode(data) == 0o700
    assert mode(data / "media") == 0o700
    assert mode(data / "secret_key") == 0o600
    assert mode(data / "fundushub.sqlite3") == 0o600


def test_files_the_storage_saves_are_private_whatever_the_umask(isolated_storage):
    previous = os.umask(0o022)
    try:
        name = default_storage.save("originals/ab/abc", ContentFile(b"bytes"))
    finally:
        os.umask(previous)
    assert mode(default_storage.path(name)) == 0o600
    assert mode(os.path.dirname(default_storage.path(name))) == 0o700
