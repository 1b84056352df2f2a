import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from fundushub.lib.env import env_bool, env_int, env_list


def test_env_readers_use_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("X_TEST", raising=False)
    assert env_bool("X_TEST", True) is True
    assert env_int("X_TEST", 7) == 7
    assert env_list("X_TEST", ["a"]) == ["a"]


def test_env_readers_parse_values(monkeypatch):
    monkeypatch.setenv("X_TEST", "yes")
    assert env_bool("X_TEST", False) is True
    monkeypatch.setenv("X_TEST", "12")
    assert env_int("X_TEST", 0) == 12
    monkeypatch.setenv("X_TEST", "a.org, b.org,")
    assert env_list("X_TEST", []) == ["a.org", "b.org"]


@pytest.mark.parametrize("reader,value", [(env_bool, "maybe"), (env_int, "five"), (env_int, "-1")])
def test_env_readers_refuse_nonsense_clearly(monkeypatch, reader, value):
    monkeypatch.setenv("X_TEST", value)
    with pytest.raises(ImproperlyConfigured, match="X_TEST"):
        reader("X_TEST", 1)


def test_limits_come_from_the_documented_environment_variables(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        FUNDUSHUB_DATA_DIR=str(tmp_path),
        DIRECT_UPLOAD_MAX_FILE_SIZE_MB="7",
        DIRECT_UPLOAD_MAX_FILES="12",
        MAX_FILES_PER_UPLOAD="30",
    )
    code = (
        "from django.conf import settings as s; "
        "print(s.DIRECT_UPLOAD_MAX_FILE_SIZE_MB, s.DIRECT_UPLOAD_MAX_FILES, s.MAX_FILES_PER_UPLOAD)"
    )
    out = subprocess.run(
        [sys.executable, "-m", "fundushub", "manage", "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.stdout.splitlines()[-1].split() == ["7", "12", "30"], out.stderr


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        FUNDUSHUB_DATA_DIR=str(tmp_path),
        HTTPS="true",
        SECURE_HSTS_SECONDS="31536000",
        ALLOWED_HOSTS="hub.example.org",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fundushub",
            "manage",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def settings_value(tmp_path, name, **env_vars):
    """A setting as a fresh process sees it, with `env_vars` set (ALLOWED_HOSTS/HTTPS unset first)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "ALLOWED_HOSTS", "HTTPS", "FUNDUSHUB_DEFAULT_HOSTS")
    }
    env.update(FUNDUSHUB_DATA_DIR=str(tmp_path), **env_vars)
    code = f"from django.conf import settings; print(repr(settings.{name}))"
    return subprocess.run(
        [sys.executable, "-m", "fundushub", "manage", "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
    )


def test_without_allowed_hosts_the_site_answers_to_local_names_only(tmp_path):
    out = settings_value(tmp_path, "ALLOWED_HOSTS")
    assert out.stdout.splitlines()[-1] == "['localhost', '127.0.0.1', '[::1]']", out.stderr


def test_the_names_the_server_was_started_for_are_the_default(tmp_path):
    out = settings_value(tmp_path, "ALLOWED_HOSTS", FUNDUSHUB_DEFAULT_HOSTS="localhost,hub-pc")
    assert out.stdout.splitlines()[-1] == "['localhost', 'hub-pc']", out.stderr


def test_an_explicit_allowed_hosts_wins(tmp_path):
    out = settings_value(
        tmp_path, "ALLOWED_HOSTS", ALLOWED_HOSTS="hub.example.org", FUNDUSHUB_DEFAULT_HOSTS="x"
    )
    assert out.stdout.splitlines()[-1] == "['hub.example.org']", out.stderr


def test_a_production_deployment_without_allowed_hosts_refuses_to_start_and_says_why(tmp_path):
    out = settings_value(tmp_path, "ALLOWED_HOSTS", HTTPS="true")
    assert out.returncode != 0
    assert "ALLOWED_HOSTS is not set. With HTTPS=true" in out.stderr
