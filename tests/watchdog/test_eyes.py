import re

import pytest

from fundus_watchdog.eyes import (
    DEFAULT_EYE_FILENAME_REGEX,
    eye_from_filename,
    eye_in_filename,
    normalise_eye,
)

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
        ("LE1.jpg", None),  # LE glued to a digit is a serial, not a word
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


# Real names from cameras and from staff, read by the default pattern. An eye is taken only from a
# token that stands alone as a word in Unicode terms (letters of any script and digits are word
# characters; _ - . space are separators); anything else is unknown, never guessed.
@pytest.mark.parametrize(
    "name, eye",
    [
        # accented letters are letters, not boundaries
        ("Rétine_gauche.jpg", None),  # "gauche" is not a spelling the camera document lists
        ("Rétinographie.dcm", None),
        ("Rétine_OS.jpg", "left"),
        ("Rétine_OD.jpg", "right"),
        ("Rétine droite OD.jpg", "right"),
        ("Œil_OS.png", "left"),
        ("Øje-R.jpg", "right"),
        ("Ré.jpg", None),
        ("Lé.jpg", None),
        ("éL.jpg", None),
        ("RÉTINE_OS.jpg", "left"),
        ("Re\u0301tine_OS.jpg", "left"),  # decomposed é (macOS writes names this way)
        ("RE\u0301TINE.jpg", None),  # decomposed É: RE followed by a combining accent is no word
        ("RE\u0301.jpg", None),
        ("x\u0301OD.jpg", None),  # a mark belongs to the letter before it, so x́OD is one word
        ("Lx\u0327.jpg", None),
        # other scripts: their letters are word characters too
        ("Αμφιβληστροειδής_OD.jpg", "right"),
        ("ΑριστερόL.jpg", None),
        ("ΟD.jpg", None),  # Greek capital omicron, not the letter O
        ("Сетчатка_OS.jpg", "left"),
        ("СетчаткаR.jpg", None),
        ("ОS.jpg", None),  # Cyrillic О
        ("眼底_左.jpg", None),
        ("眼底_OD.jpg", "right"),
        ("眼底OD.jpg", None),
        ("ＯＤ.jpg", None),  # full-width letters are not the camera's spelling
        ("oſ.jpg", None),  # long s only folds to s under Unicode case rules
        # the spellings, in any case
        ("IMG_0001_OD.jpg", "right"),
        ("img_0001_os.jpg", "left"),
        ("Fundus_OU.jpg", None),  # both eyes: not one eye
        ("Fundus_OU_R.jpg", None),
        ("IMG_L.jpg", "left"),
        ("img-r.jpg", "right"),
        ("scan LE.jpg", "left"),
        ("scan_re.png", "right"),
        ("Left eye.jpg", "left"),
        ("RIGHT.JPG", "right"),
        ("left_right.jpg", None),
        # dates and serials that contain L or R are not eyes
        ("R2023.jpg", None),
        ("20231105L.jpg", None),
        ("SN4471R9.jpg", None),
        ("L1.jpg", None),
        ("IMG_20231105_L.jpg", "left"),
        ("2023-11-05 R.jpg", "right"),
        ("R_2023-11-05.jpg", "right"),
        ("SER-L-0042_OS.jpg", "left"),
        ("SER-L-0042_OD.jpg", None),
        ("OD_L.jpg", None),
    ],
)
def test_the_default_pattern_takes_an_eye_only_from_a_standalone_unicode_word(name, eye):
    assert eye_from_filename(name, PATTERN) == eye


@pytest.mark.parametrize(
    "name, why",
    [
        ("Rétinographie.dcm", "no eye in the file name"),
        ("Fundus_OU.jpg", "the file name says both eyes (OU)"),
        ("IMG_L_OD.jpg", "the file name names both eyes (L, OD)"),
    ],
)
def test_a_name_without_one_eye_says_why(name, why):
    assert eye_in_filename(name, PATTERN) == (None, why)


def test_the_configured_default_is_the_unicode_correct_pattern(make_config):
    config = make_config(db_path="")
    assert config.eye_filename_regex == DEFAULT_EYE_FILENAME_REGEX
    assert eye_from_filename("Rétine_gauche.jpg", config.eye_pattern) is None
    assert eye_from_filename("Rétine_OS.jpg", config.eye_pattern) == "left"
