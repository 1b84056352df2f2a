"""lib/eyes.py: the eye a direct upload's file name names, by the camera watchdog's rule."""

import re

import pytest

from fundus_watchdog.eyes import DEFAULT_EYE_FILENAME_REGEX, eye_from_filename
from fundushub.lib.eyes import eye_in_filename, normalise_eye, words

# The watchdog's own cases (tests/watchdog/test_eyes.py) and a few of ours.
NAMES = [
    ("PHOTOS_OD.dcm", "right"),  # the OS inside PHOTOS is not an eye
    ("PHOTOS_OS.dcm", "left"),
    ("IMG_0001_L.jpg", "left"),
    ("scan-right.png", "right"),
    ("OD.jpg", "right"),
    ("left eye.jpg", "left"),
    ("LE1.jpg", None),
    ("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d.jpg", None),
    ("COLOR.jpg", None),
    ("IMG_L_OD.jpg", None),  # contradictory: not guessed
    ("BLEFT.jpg", None),  # LEFT glued to a letter is not a word of its own
    ("LEFTY.jpg", None),
    ("105-10-0989-3_L.jpg", "left"),
    ("105-10-0989-3 R.png", "right"),
    ("105-10-0989-3.L.jpg", "left"),
    ("L.jpg", "left"),
    ("L", "left"),  # no extension: the whole name
    ("photo.L", None),  # the extension is not part of the name's words
    ("Rétine_gauche.jpg", None),
    ("Rétine_OS.jpg", "left"),
    ("Re\u0301tine_OS.jpg", "left"),  # decomposed é (macOS)
    ("RE\u0301.jpg", None),  # RE followed by a combining accent is no word
    ("x\u0301OD.jpg", None),
    ("ΟD.jpg", None),  # Greek capital omicron
    ("ОS.jpg", None),  # Cyrillic О
    ("ＯＤ.jpg", None),  # full-width letters
    ("oſ.jpg", None),  # long s
    ("眼底_OD.jpg", "right"),
    ("眼底OD.jpg", None),
    ("R2023.jpg", None),
    ("20231105L.jpg", None),
    ("IMG_20231105_L.jpg", "left"),
    ("SER-L-0042_OD.jpg", None),
    ("left_right.jpg", None),
    ("", None),
]


@pytest.mark.parametrize("name, eye", NAMES)
def test_it_reads_an_eye_only_from_a_standalone_word(name, eye):
    assert eye_in_filename(name) == eye


@pytest.mark.parametrize("name, eye", NAMES)
def test_it_agrees_with_the_watchdog_on_every_name(name, eye):
    assert eye_in_filename(name) == eye_from_filename(name, re.compile(DEFAULT_EYE_FILENAME_REGEX))


@pytest.mark.parametrize("name", ["Fundus_OU.jpg", "fundus ou.png", "OU.jpg"])
def test_it_reads_ou_as_both_eyes_where_the_watchdog_refuses_it(name):
    assert eye_in_filename(name) == "both"


@pytest.mark.parametrize("name", ["Fundus_OU_R.jpg", "OU_L.jpg"])
def test_both_eyes_and_one_eye_in_a_name_name_none(name):
    assert eye_in_filename(name) is None


@pytest.mark.parametrize(
    "value, eye",
    [("L", "left"), (" os ", "left"), ("Left", "left"), ("OD", "right"), ("re", "right")]
    + [("ou", "both"), ("", None), (None, None), ("X", None), ("ＬＥＦＴ", None), ("lefty", None)],
)
def test_it_normalises_the_spellings_of_an_eye(value, eye):
    assert normalise_eye(value) == eye


def test_words_are_runs_of_letters_digits_and_marks():
    assert words("a_b-c d.e") == ["a", "b", "c", "d", "e"]
    assert words("Re\u0301tine OS") == ["Re\u0301tine", "OS"]
    assert words("__") == []
