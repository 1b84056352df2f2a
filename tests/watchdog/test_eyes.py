import re

import pytest

from fundus_watchdog.eyes import DEFAULT_EYE_FILENAME_REGEX, eye_from_filename, normalise_eye

PATTERN = re.compile(DEFAULT_EYE_FILENAME_REGEX)


@pytest.mark.parametrize(
    "value", ["L", "LE", "OS", "LEFT", "l", "le", "os", "left", "Left", " os ", "L E", "\tLEFT\n"]
)
def test_every_left_spelling_is_left(value):
    assert normalise_eye(value) == "left"


@pytest.mark.parametrize(
    "value", ["R", "RE", "OD", "RIGHT", "r", "re", "od", "right", "Right", " od ", "R E"]
)
def test_every_right_spelling_is_right(value):
    assert normalise_eye(value) == "right"


@pytest.mark.parametrize("value", [None, "", "OU", "both", "X", 1, "LR", "lefty"])
def test_anything_else_is_no_eye(value):
    assert normalise_eye(value) is None


@pytest.mark.parametrize(
    "name, eye",
    [
        ("PHOTOS_OD.dcm", "right"),  # the OS inside PHOTOS is not an eye
        ("PHOTOS_OS.dcm", "left"),
        ("IMG_0001_L.jpg", "left"),
        ("scan-right.png", "right"),
        ("OD.jpg", "right"),
        ("left eye.jpg", "left"),
        ("report_RE.html", "right"),
        ("LE1.jpg", "left"),
        ("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d.jpg", None),  # UUIDs never name an eye
        ("e5f6a7b8.jpg", None),
        ("COLOR.jpg", None),
        ("IMG_L_OD.jpg", None),  # contradictory: not guessed
        ("FUNDUS.jpg", None),
    ],
)
def test_the_eye_is_read_from_a_file_name_only_as_a_whole_token(name, eye):
    assert eye_from_filename(name, PATTERN) == eye


def test_a_custom_pattern_can_read_vendor_names():
    pattern = re.compile(r"_(?P<eye>[LR])\d+\.")
    assert (
        eye_from_filename("exam_R01.jpg", pattern) is None
    )  # the extension is not part of the stem
    pattern = re.compile(r"_(?P<eye>[LR])\d+$")
    assert eye_from_filename("exam_R01.jpg", pattern) == "right"
