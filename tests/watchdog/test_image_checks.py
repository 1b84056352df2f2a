"""After an examination is complete, the watchdog says what the server's checks found: a sentence
per flagged picture, waiting a bounded time for checks still running, never failing over them."""

import logging
import time

import pytest

from fundus_watchdog import image_checks
from fundus_watchdog.camera_db import CameraDb
from fundus_watchdog.client import CameraApi
from fundus_watchdog.config import ConfigError
from fundus_watchdog.examination import Examinations, Outcome
from fundus_watchdog.folders import candidate_files
from fundus_watchdog.journal import Journal

from .conftest import SUBJECT, registered_exam

BLURRED = {
    "verdict": "ungradable",
    "flagged": True,
    "reason": "looks blurred",
    "version": 1,
    "advice": "recapture while the patient is here",
}
GOOD = {"verdict": "good", "flagged": False, "reason": "", "version": 1}


def entry(state="done", file_type="left", **results):
    return {"file_type": file_type, "state": state, "flagged": False, "results": results}


@pytest.fixture
def make_processor(make_config):
    opened = []

    def make(server, **overrides):
        config = make_config(server, **overrides)
        config.state_dir.mkdir(parents=True, exist_ok=True)
        api = CameraApi(config.api_url, config.token, timeout=2, retries=2, retry_delay=0.01)
        journal = Journal(config.journal_path)
        opened.append((api, journal))
        return Examinations(config, api, journal, CameraDb(config))

    yield make
    for api, journal in opened:
        api.close()
        journal.close()


def run(processor):
    folder = processor.config.watch_dir / SUBJECT
    return processor.process(folder, candidate_files(folder))


def warnings_in(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_flagged_picture_is_said_in_a_plain_sentence_and_the_folder_archived(
    stub, camera, make_processor, caplog
):
    registered_exam(camera, stub)
    stub.checks = [{"L1.jpg": entry(gradability=BLURRED), "R1.jpg": entry("done", "right")}]
    with caplog.at_level(logging.INFO):
        assert run(make_processor(stub)).outcome is Outcome.ARCHIVED
    assert warnings_in(caplog) == [
        f"left image of {SUBJECT} looks blurred — recapture while the patient is here (L1.jpg)"
    ]


def test_it_asks_again_while_checks_are_pending_then_reports(
    stub, camera, make_processor, caplog, monkeypatch
):
    registered_exam(camera, stub)
    stub.checks = [
        {"L1.jpg": entry("pending")},
        {"L1.jpg": entry("pending", gradability=GOOD)},
        {
            "L1.jpg": entry(
                gradability=GOOD, laterality={**BLURRED, "reason": "eye may be mislabelled"}
            )
        },
    ]
    monkeypatch.setattr(image_checks, "POLL_SECONDS", 0.05)
    with caplog.at_level(logging.WARNING):
        started = time.monotonic()
        assert run(make_processor(stub, checks_wait=10)).outcome is Outcome.ARCHIVED
    assert time.monotonic() - started < 2
    statuses = [r for r in stub.requests if r["kind"] == "status"]
    assert len(statuses) == 3
    assert warnings_in(caplog) == [
        f"left image of {SUBJECT} eye may be mislabelled — recapture while the patient is here"
        " (L1.jpg)"
    ]


def test_it_stops_waiting_after_checks_wait_and_archives_all_the_same(
    stub, camera, make_processor, caplog
):
    registered_exam(camera, stub)
    stub.checks = [{"L1.jpg": entry("pending")}]
    with caplog.at_level(logging.INFO):
        started = time.monotonic()
        assert run(make_processor(stub, checks_wait=0.5)).outcome is Outcome.ARCHIVED
        assert time.monotonic() - started < 4
    assert any(
        "the server was still checking L1.jpg after 0.5 s; archiving anyway" in r.getMessage()
        for r in caplog.records
    )
    assert warnings_in(caplog) == []


def test_with_no_wait_it_reports_what_the_answer_already_has(stub, camera, make_processor, caplog):
    registered_exam(camera, stub)
    stub.checks = [{"L1.jpg": entry("pending", gradability=BLURRED)}]
    with caplog.at_level(logging.WARNING):
        assert run(make_processor(stub, checks_wait=0)).outcome is Outcome.ARCHIVED
    assert len([r for r in stub.requests if r["kind"] == "status"]) == 1
    assert len(warnings_in(caplog)) == 1


def test_a_server_without_checks_is_not_waited_for(stub, camera, make_processor, caplog):
    registered_exam(camera, stub)
    with caplog.at_level(logging.INFO):
        started = time.monotonic()
        assert run(make_processor(stub, checks_wait=30)).outcome is Outcome.ARCHIVED
        assert time.monotonic() - started < 10
    assert warnings_in(caplog) == []
    assert not any("checking" in r.getMessage() for r in caplog.records)


def test_trouble_asking_again_never_fails_the_examination(stub, camera, make_processor, caplog):
    registered_exam(camera, stub)
    stub.checks = [{"L1.jpg": entry("pending")}]
    processor = make_processor(stub, checks_wait=5)
    stub.fail("GET /api/retinopathy/105-10-0989-3/status/", times=1, status=500)
    # The first status (completeness) is retried; the second ask (checks) is not, and ends the wait.
    assert run(processor).outcome is Outcome.ARCHIVED


@pytest.mark.parametrize(
    "checks",
    [
        "not an object",
        ["a", "list"],
        {"L1.jpg": "text"},
        {"L1.jpg": {"state": "done", "results": "none"}},
        {"L1.jpg": {"state": "done", "results": {"gradability": "bad"}}},
        {"L1.jpg": {"results": {"gradability": {"flagged": "yes", "reason": 3}}}},
    ],
)
def test_an_odd_checks_object_is_ignored(stub, camera, make_processor, caplog, checks):
    registered_exam(camera, stub)
    stub.checks = [checks]
    with caplog.at_level(logging.WARNING):
        assert run(make_processor(stub)).outcome is Outcome.ARCHIVED
    assert warnings_in(caplog) == []


def test_sentences_name_the_eye_and_fall_back_to_plain_words():
    checks = {
        "a.dcm": entry(
            file_type="right_dicom",
            burned_text={"flagged": True, "reason": "possible patient data"},
        ),
        "b.jpg": entry(file_type=None, near_duplicate={"flagged": True, "advice": "check it"}),
        "c.jpg": entry(gradability=GOOD),
    }
    assert image_checks.sentences(SUBJECT, checks) == [
        f"right image of {SUBJECT} possible patient data — please look at it (a.dcm)",
        f"image of {SUBJECT} was flagged by the near_duplicate check — check it (b.jpg)",
    ]


def test_checks_wait_is_a_setting_that_may_be_zero_but_not_negative(make_config):
    assert make_config().checks_wait == 20
    assert make_config(checks_wait=0).checks_wait == 0
    with pytest.raises(ConfigError, match=r"checks_wait must be 0 or more, not -1"):
        make_config(checks_wait=-1)
    with pytest.raises(ConfigError, match=r"workers must be greater than 0, not 0"):
        make_config(workers=0)
