"""The generated secret key: one per data directory, whichever process starts first."""

import stat
import subprocess
import sys

import pytest

from fundushub.lib import secret
from fundushub.lib.secret import read_or_create_key


def test_a_new_key_is_created_private_and_then_kept(tmp_path):
    path = tmp_path / "secret_key"
    key = read_or_create_key(path)
    assert len(key) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_key(path) == key
    assert [p.name for p in tmp_path.iterdir() if "secret" in p.name] == ["secret_key"]


def test_a_key_another_process_wrote_meanwhile_wins(tmp_path, monkeypatch):
    path = tmp_path / "secret_key"
    real_read = secret._read
    calls = []

    def read_while_another_process_starts(p):
        calls.append(p)
        if len(calls) == 1:
            p.write_text("the-other-process-key")
            raise FileNotFoundError(p)
        return real_read(p)

    monkeypatch.setattr(secret, "_read", read_while_another_process_starts)
    assert read_or_create_key(path) == "the-other-process-key"
    assert path.read_text() == "the-other-process-key"
    assert [p.name for p in tmp_path.iterdir() if "secret" in p.name] == ["secret_key"]


def test_processes_starting_together_on_a_new_data_dir_share_one_key(tmp_path):
    code = (
        "import sys, pathlib; from fundushub.lib.secret import read_or_create_key; "
        "print(read_or_create_key(pathlib.Path(sys.argv[1])))"
    )
    for attempt in range(3):
        path = tmp_path / f"run{attempt}" / "secret_key"
        path.parent.mkdir()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
            )
            for _ in range(8)
        ]
        keys = {proc.communicate()[0].strip() for proc in procs}
        assert all(proc.returncode == 0 for proc in procs)
        assert keys == {path.read_text()}


def test_an_emptied_key_file_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("\n")
    with pytest.raises(ValueError, match="delete it"):
        read_or_create_key(path)
