"""Gradability on synthetic pictures with known defects: sharp, well-exposed pictures are good at
every size; blurred, dark, over-exposed, glared, hazy and cut-off ones are ungradable and say why;
milder defects are usable with their reason and not flagged."""

import json
import statistics
import time

import numpy as np
import pytest
from PIL import Image as PILImage

from fundushub.checks import gradability, synthetic
from fundushub.checks.gradability import Rule, judge
from fundushub.checks.models import ImageCheck
from fundushub.checks.runner import run_checks
from tests.checks.checking import subject_of
from tests.conftest import store_image

SIZES = [(640, 480), (1024, 768), (1600, 1200), (2400, 1600)]


def grade(image):
    return gradability.check(subject_of(image))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("eye", ["right", "left"])
def test_it_calls_a_sharp_well_exposed_picture_good(size, eye):
    result = grade(synthetic.fundus(size[0] + (eye == "left"), eye, size))
    assert (result.verdict, result.reason, result.flagged) == ("good", "", False)


def test_it_calls_a_picture_of_a_3000_px_camera_good():
    assert grade(synthetic.fundus(4, size=(3000, 2250))).verdict == "good"


def test_it_calls_a_field_cut_at_top_and_bottom_by_the_camera_good():
    result = grade(synthetic.fundus(5, size=(1600, 1200), field=1.08))
    assert result.verdict == "good"
    assert 0.01 < result.values["missing"] < 0.06


@pytest.mark.parametrize("size", SIZES[:3])
@pytest.mark.parametrize(
    "defect, reason",
    [
        ({"blur": 8}, "looks blurred"),
        ({"exposure": 0.25}, "too dark"),
        ({"exposure": 2.9}, "too bright"),
        ({"glare": 0.2}, "glare over"),
        ({"contrast": 0.3}, "low contrast"),
    ],
)
def test_it_calls_a_defective_picture_ungradable_and_says_why(size, defect, reason):
    result = grade(synthetic.fundus(7, "right", size, **defect))
    assert result.verdict == "ungradable"
    assert result.flagged
    assert result.reason.startswith(reason)


def test_it_says_how_much_of_the_field_glare_covers():
    result = grade(synthetic.fundus(8, size=(1024, 768), glare=0.2))
    share = round(result.values["glare"] * 100)
    assert 20 <= share <= 35
    assert result.reason == f"glare over {share} % of the field"


def test_it_calls_a_field_cut_off_by_the_frame_ungradable():
    picture = synthetic.picture(3, size=(1024, 768), crop=0.45)
    assert picture.cut > 0.15  # (the truth: this seed's shift cuts off that much)
    result = grade(picture.image)
    assert result.verdict == "ungradable"
    assert result.values["missing"] == pytest.approx(picture.cut, abs=0.04)
    assert result.reason.startswith("field of view cut off (")
    assert result.reason.endswith("% missing, off-centre)")


@pytest.mark.parametrize(
    "defect, reason",
    [
        ({"blur": 3.5}, "a little blurred"),
        ({"exposure": 0.45}, "a little dark"),
        ({"glare": 0.06}, "some glare ("),
    ],
)
def test_it_calls_a_slightly_defective_picture_usable_with_its_reason_but_does_not_flag_it(
    defect, reason
):
    result = grade(synthetic.fundus(9, "left", (1280, 960), **defect))
    assert (result.verdict, result.flagged) == ("usable", False)
    assert result.reason.startswith(reason)


def test_it_names_every_problem_the_worst_first():
    result = grade(synthetic.fundus(10, size=(1024, 768), blur=3.5, exposure=0.25))
    assert result.verdict == "ungradable"
    assert result.reason == "too dark; a little blurred"


def test_its_measures_mean_the_same_at_every_size():
    values = [grade(synthetic.fundus(11, size=size)).values for size in SIZES]
    for name in ("sharpness", "brightness", "contrast"):
        measured = [v[name] for v in values]
        assert max(measured) < 1.25 * min(measured), (name, measured)


def test_it_keeps_every_measure_in_its_values():
    values = grade(synthetic.fundus(12, size=(1024, 768))).values
    assert set(values) == {
        "sharpness",
        "brightness",
        "glare",
        "contrast",
        "missing",
        "offset",
        "fills_frame",
        "field_radius",
    }
    json.dumps(values)  # stored in a JSON field


def test_it_calls_a_black_picture_ungradable():
    result = grade(PILImage.new("RGB", (800, 600)))
    assert (result.verdict, result.flagged) == ("ungradable", True)
    assert result.reason == "no fundus found: the picture is black or blank"
    assert result.values == {"field_found": False}


def test_it_calls_a_blank_white_picture_ungradable():
    result = grade(PILImage.new("RGB", (800, 600), (255, 255, 255)))
    assert result.verdict == "ungradable"
    assert result.reason.startswith("too bright; glare over 99 % of the field")


def test_it_calls_a_few_bright_specks_on_black_no_fundus():
    rgb = np.zeros((600, 800, 3), np.uint8)
    rgb[10:30, 10:30] = 255  # e.g. burned-in text on an otherwise black picture
    result = grade(PILImage.fromarray(rgb))
    assert result.reason == "no fundus found: the picture is black or blank"


def test_it_measures_a_retina_that_fills_the_whole_picture():
    # Some cameras (and crops) show no rim: nothing is missing, the rest is measured as usual.
    whole = synthetic.fundus(13, size=(1600, 1200))
    inside = whole.crop((500, 300, 1100, 750)).resize((800, 600))
    result = grade(inside)
    assert result.values["fills_frame"] is True
    assert result.values["missing"] == 0
    assert result.values["sharpness"] > 0.2


def test_it_does_not_fail_on_a_tiny_picture():
    result = grade(synthetic.fundus(14, size=(64, 48)))
    assert result.verdict in ("good", "usable", "ungradable")


def test_a_rule_without_a_value_finds_nothing():
    rule = Rule("sharpness", True, 0.4, 0.3, "a little blurred", "looks blurred")
    assert (rule.level(None), rule.level(0.5), rule.level(0.35), rule.level(0.2)) == (0, 0, 1, 2)


def test_a_sharpness_that_cannot_be_measured_is_no_finding():
    values = {
        "sharpness": None,
        "brightness": 90,
        "glare": 0,
        "contrast": 0.25,
        "missing": 0,
        "offset": 0,
    }
    assert judge(values) == ("good", "")


def test_it_takes_well_under_100_ms_per_picture_at_1024_px():
    subjects = [subject_of(synthetic.fundus(n, size=(1024, 768))) for n in range(5)]
    laps = []
    for subject in subjects:
        started = time.process_time()
        gradability.check(subject)
        laps.append(time.process_time() - started)
    assert statistics.median(laps) < 0.1


def test_run_checks_stores_the_verdict_on_a_stored_image(world):
    data = synthetic.jpeg(synthetic.fundus(15, "left", (1600, 1200), blur=9))
    image = store_image(world, data=data, area=world.left)
    row = run_checks(image, ["gradability"])["gradability"]
    stored = ImageCheck.objects.get(image=image, name="gradability")
    assert stored.pk == row.pk
    assert (stored.verdict, stored.flagged, stored.version) == ("ungradable", True, 1)
    assert stored.reason == "looks blurred"
    assert stored.values["sharpness"] < 0.28
