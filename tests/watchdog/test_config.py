import json
from pathlib import Path

import pytest

from fundus_watchdog.config import (
    CONFIG_ENV,
    OPTIONS,
    TOKEN_ENV,
    ConfigError,
    build_config,
    config_fields,
    find_config_file,
    load_config,
    read_config_file,
    sample_config,
)
from fundus_watchdog.eyes import DEFAULT_EYE_FILENAME_REGEX, eye_from_filename

DOCUMENT_EXAMPLE = {
    "watch_dir": "C:\\RetCamOutput",
    "db_path": "C:\\RetCamOutput\\camera.db",
    "api_url": "https://edc.example.com",
    "token": "abc123",
    "device_id": "RET-CAM-001",
    "site_id": "40",
    "db_patient_table": "patients",
    "db_patient_subject_id": "subject_identifier",
    "db_patient_initials": "initials",
    "db_patient_sex": "sex",
    "db_patient_age": "age",
    "db_image_table": "images",
    "db_image_subject_id": "subject_identifier",
    "db_image_filename": "filename",
    "db_image_eye": "eye",
    "report_type": "combined",
}
REQUIRED = {
    "watch_dir": "/w",
    "db_path": "/w/camera.db",
    "api_url": "https://edc.example.com",
    "token": "t",
}


def test_it_reads_the_documents_example_config():
    config, warnings = build_config(DOCUMENT_EXAMPLE, environ={})
    assert warnings == []
    assert config.watch_dir == Path("C:\\RetCamOutput")
    assert config.api_url == "https://edc.example.com"
    assert (config.device_id, config.site_id, config.report_type) == (
        "RET-CAM-001",
        "40",
        "combined",
    )


def test_it_has_the_documents_defaults():
    config, _ = build_config(REQUIRED, environ={})
    assert config.report_type == "combined"
    assert config.log_level == "INFO"
    assert (config.db_patient_table, config.db_patient_subject_id, config.db_patient_initials) == (
        "patients",
        "subject_identifier",
        "initials",
    )
    assert (config.db_patient_sex, config.db_patient_age) == ("sex", "age")
    assert (
        config.db_image_table,
        config.db_image_subject_id,
        config.db_image_filename,
        config.db_image_eye,
    ) == (
        "images",
        "subject_identifier",
        "filename",
        "eye",
    )
    assert (config.sweep_interval, config.stability_timeout) == (60, 30)
    assert (config.retries, config.retry_delay) == (3, 5)


def test_flags_override_the_config_file():
    config, _ = build_config(
        DOCUMENT_EXAMPLE,
        {"log_level": "DEBUG", "report_type": "per_eye", "db_image_eye": "laterality"},
        environ={},
    )
    assert (config.log_level, config.report_type, config.db_image_eye) == (
        "DEBUG",
        "per_eye",
        "laterality",
    )
    assert config.db_image_table == "images"  # not given as a flag: from the file


def test_flags_alone_are_enough_without_a_config_file():
    flags = {
        "watch_dir": "C:\\RetCamOutput",
        "db_path": "C:\\RetCamOutput\\camera.db",
        "api_url": "https://edc.example.com",
        "token": "YOUR-REAL-TOKEN",
        "device_id": "RET-CAM-001",
        "db_patient_table": "Exams",
        "db_patient_subject_id": "patient_code",
        "db_image_table": "CapturedFiles",
        "db_image_eye": "laterality",
    }
    config, _ = build_config({}, flags, environ={})
    assert (config.db_patient_table, config.db_patient_subject_id) == ("Exams", "patient_code")
    assert (config.db_image_table, config.db_image_eye) == ("CapturedFiles", "laterality")


def test_the_token_comes_from_the_environment_over_the_file_and_a_flag_wins_over_both():
    file_values = {**REQUIRED, "token": "from-file"}
    assert build_config(file_values, environ={TOKEN_ENV: "from-env"})[0].token == "from-env"
    assert (
        build_config(file_values, {"token": "from-flag"}, environ={TOKEN_ENV: "from-env"})[0].token
        == "from-flag"
    )
    without_token = {k: v for k, v in REQUIRED.items() if k != "token"}
    assert build_config(without_token, environ={TOKEN_ENV: "only-env"})[0].token == "only-env"


def test_every_missing_required_key_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        build_config({}, environ={})
    text = str(info.value)
    for key in ("watch_dir", "db_path", "api_url", "token"):
        assert key in text
    assert len(info.value.problems) == 4


def test_the_placeholder_token_from_the_sample_is_refused():
    with pytest.raises(ConfigError, match="placeholder"):
        build_config({**REQUIRED, "token": "YOUR_DRF_TOKEN"}, environ={})


@pytest.mark.parametrize("bad", ["images; DROP TABLE images", "1table", "im ages", 'x"y', ""])
def test_database_names_must_be_plain_sql_identifiers(bad):
    with pytest.raises(ConfigError, match="db_image_table must be a plain SQL"):
        build_config({**REQUIRED, "db_image_table": bad}, environ={})


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("report_type", "both", "report_type must be one of combined, per_eye"),
        ("log_level", "VERBOSE", "log_level must be one of DEBUG, INFO, WARNING, ERROR"),
        ("api_url", "edc.example.com", "api_url must start with https://"),
        ("workers", "many", "workers must be a number"),
        ("stable_seconds", 0, "stable_seconds must be greater than 0"),
        ("include_jpgs", "perhaps", "include_jpgs must be true or false"),
        ("subject_folder_regex", "^(?P<subject>.+)", "named group (?P<subject_identifier>"),
        ("eye_filename_regex", "(unclosed", "not a valid regular expression"),
    ],
)
def test_bad_values_are_explained(key, value, message):
    with pytest.raises(ConfigError) as info:
        build_config({**REQUIRED, key: value}, environ={})
    assert message in str(info.value)


def test_report_type_and_log_level_are_case_insensitive():
    config, _ = build_config(
        {**REQUIRED, "report_type": "PER_EYE", "log_level": "debug"}, environ={}
    )
    assert (config.report_type, config.log_level) == ("per_eye", "DEBUG")


def test_an_empty_db_path_means_a_camera_without_database():
    config, _ = build_config({**REQUIRED, "db_path": ""}, environ={})
    assert config.db_path is None


def test_journal_log_and_lock_default_to_a_hidden_folder_inside_the_watch_folder():
    config, _ = build_config(REQUIRED, environ={})
    assert config.journal_path == Path("/w/.fundus-watchdog/journal.sqlite3")
    assert config.log_file == Path("/w/.fundus-watchdog/watchdog.log")
    assert config.lock_file == Path("/w/.fundus-watchdog/watchdog.lock")
    config, _ = build_config(
        {**REQUIRED, "journal_path": "/var/j.sqlite3", "log_file": ""}, environ={}
    )
    assert (config.journal_path, config.log_file) == (Path("/var/j.sqlite3"), None)


def test_unknown_keys_are_warned_about_and_comment_keys_are_not():
    _, warnings = build_config({**REQUIRED, "watchdir": "/x", "_comment": "hello"}, environ={})
    assert warnings == ["unknown setting 'watchdir' in the config file is ignored"]


def test_a_trailing_slash_on_the_api_url_is_dropped_and_plain_http_is_warned_about():
    config, warnings = build_config({**REQUIRED, "api_url": "http://edc.example.com/"}, environ={})
    assert config.api_url == "http://edc.example.com"
    assert any("unencrypted" in w for w in warnings)


def test_the_sample_config_is_commented_json_with_every_setting(tmp_path):
    path = tmp_path / "camera_config.json"
    path.write_text(sample_config(), encoding="utf-8")
    values = read_config_file(path)
    assert {k: values[k] for k in DOCUMENT_EXAMPLE if k != "token"} == {
        k: v for k, v in DOCUMENT_EXAMPLE.items() if k != "token"
    }
    assert values["token"] == "YOUR_DRF_TOKEN"
    assert "// " in path.read_text()
    assert set(values) == {o.key for o in OPTIONS} - {"journal_path", "log_file", "lock_file"}


def test_a_config_file_with_a_bom_and_windows_paths_loads(tmp_path):
    path = tmp_path / "camera_config.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(DOCUMENT_EXAMPLE).encode())
    assert read_config_file(path)["watch_dir"] == "C:\\RetCamOutput"


def test_invalid_json_says_where_and_reminds_about_backslashes(tmp_path):
    path = tmp_path / "camera_config.json"
    path.write_text('{"watch_dir": "C:\\RetCamOutput"}')
    with pytest.raises(ConfigError, match=r"line 1.*backslash"):
        read_config_file(path)


def test_the_config_is_found_in_the_current_folder_or_through_the_environment(tmp_path):
    (tmp_path / "camera_config.json").write_text("{}")
    assert find_config_file(tmp_path, environ={}) == tmp_path / "camera_config.json"
    other = tmp_path / "elsewhere.json"
    assert find_config_file(tmp_path, environ={CONFIG_ENV: str(other)}) == other
    assert (
        find_config_file(tmp_path / "nowhere", environ={"XDG_CONFIG_HOME": str(tmp_path / "x")})
        is None
    )


def test_load_config_combines_file_environment_and_flags(tmp_path):
    path = tmp_path / "camera_config.json"
    path.write_text(json.dumps({**REQUIRED, "token": "file"}))
    config, _, used = load_config(path, {"site_id": "41"}, environ={TOKEN_ENV: "env"})
    assert (config.token, config.site_id, used) == ("env", "41", path)


def test_every_option_is_a_config_field():
    assert [o.key for o in OPTIONS] == config_fields()


def test_a_config_written_with_an_earlier_default_eye_pattern_gets_the_unicode_correct_one():
    earlier = r"(?i)(?<![a-z])(?P<eye>left|right|od|os|le|re|l|r)(?![a-z])"  # older --create-config
    config, warnings = build_config({**REQUIRED, "eye_filename_regex": earlier}, environ={})
    assert config.eye_filename_regex == DEFAULT_EYE_FILENAME_REGEX
    assert eye_from_filename("Rétine_gauche.jpg", config.eye_pattern) is None
    assert any("earlier version's default" in w for w in warnings)


def test_a_site_specific_eye_pattern_is_kept():
    custom = r"_(?P<eye>[LR])\d+$"
    config, warnings = build_config({**REQUIRED, "eye_filename_regex": custom}, environ={})
    assert config.eye_filename_regex == custom and warnings == []
