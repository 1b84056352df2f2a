"""The burned-in text check: a name and birth date stamped into a fundus photograph are flagged
with their boxes in the original's pixels (never the text read); a clean photograph passes."""

import functools
import io
import json

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from fundushub.checks import burned_text, synthetic
from fundushub.checks.runner import run_checks
from tests.conftest import store_image

SIZE = (1600, 1200)
STAMP = "SMITH JOHN 12/03/1954"


@functools.cache
def clean(seed=1, size=SIZE) -> PILImage.Image:
    return synthetic.fundus(seed, size=size)


def stamped(seed=1, size=SIZE, text=STAMP, at=(16, 12), px=26) -> PILImage.Image:
    im = clean(seed, size).copy()
    ImageDraw.Draw(im).text(at, text, fill=(255, 255, 255), font=ImageFont.load_default(size=px))
    return im


def jpeg(im, exif=None) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, **({"exif": exif} if exif else {}))
    return out.getvalue()


def check(world, im_or_bytes, seed=0) -> object:
    data = im_or_bytes if isinstance(im_or_bytes, bytes) else jpeg(im_or_bytes)
    image = store_image(world, seed, data=data)
    return run_checks(image, [burned_text.NAME])[burned_text.NAME]


def test_a_name_and_birth_date_in_a_corner_are_flagged_with_a_box_there(world):
    row = check(world, stamped())
    assert row.verdict == "flag" and row.flagged
    assert row.reason == "Possible patient data: 1 text box burned into the picture"
    assert row.values["count"] == 1
    [[x, y, w, h]] = row.values["boxes"]
    # In the original's pixels (the check saw a copy 1024 wide): around the stamp at (16, 12).
    assert 0 <= x <= 16 and 0 <= y <= 12
    assert 200 < w < 400 and 15 < h < 60
    assert row.values["characters"] == [len(STAMP.replace(" ", ""))]


def test_the_text_read_is_never_kept(world):
    row = check(world, stamped())
    kept = json.dumps(row.values) + row.reason
    for part in ("SMITH", "JOHN", "1954", "12/03"):
        assert part not in kept


def test_a_clean_fundus_passes(world):
    row = check(world, clean(2))
    assert row.verdict == "pass" and not row.flagged
    assert row.values == {"boxes": [], "count": 0}
    assert row.reason == ""


def test_text_in_two_places_gives_two_boxes(world):
    im = stamped()
    ImageDraw.Draw(im).text(
        (1100, 1150), "ID 105-10-0989-3", fill=(255, 255, 160), font=ImageFont.load_default(size=26)
    )
    row = check(world, im)
    assert row.values["count"] == 2
    assert row.reason == "Possible patient data: 2 text boxes burned into the picture"
    lowest = max(row.values["boxes"], key=lambda b: b[1])
    assert lowest[0] > 1000 and lowest[1] > 1100


def test_it_keeps_at_most_max_boxes(world, monkeypatch):
    im = stamped()
    ImageDraw.Draw(im).text(
        (1100, 1150), "ID 105-10-0989-3", fill=(255, 255, 255), font=ImageFont.load_default(size=26)
    )
    monkeypatch.setattr(burned_text, "MAX_BOXES", 1)
    assert check(world, im).values["count"] == 1


def test_text_read_with_too_little_confidence_passes(world, monkeypatch):
    monkeypatch.setattr(burned_text, "MIN_CONFIDENCE", 1.01)
    assert check(world, stamped()).verdict == "pass"


def test_a_single_character_is_not_taken_as_text(world, monkeypatch):
    one = stamped(text="R", px=40)
    assert check(world, one).verdict == "pass"
    monkeypatch.setattr(burned_text, "MIN_CHARACTERS", 1)
    assert check(world, one, seed=1).verdict == "flag"  # it was read, and left out


def test_boxes_are_in_the_upright_original_of_a_turned_jpeg(world):
    # Stored sideways with EXIF orientation 6 (turn clockwise to view): the box is where the
    # viewer and the editor show the text, at the top left of the upright picture.
    upright = stamped(size=(1200, 1600))
    stored = upright.transpose(PILImage.Transpose.ROTATE_90)  # 1600 × 1200 as stored
    exif = PILImage.Exif()
    exif[0x0112] = 6
    row = check(world, jpeg(stored, exif=exif.tobytes()))
    [[x, y, w, h]] = row.values["boxes"]
    assert x <= 16 and y <= 12 and w > h


def test_a_box_never_reaches_outside_the_picture():
    box = np.array([[-3, -2], [50, -2], [50, 10], [-3, 10]], np.float32)
    assert burned_text.to_original(box, 2.0, (90, 100)) == [0, 0, 90, 25]


def test_the_engine_is_made_once_per_process_with_one_thread():
    first = burned_text.engine()
    assert burned_text.engine() is first
    options = first.text_det.infer.session.get_session_options()
    assert options.intra_op_num_threads == 1


def test_the_detector_sees_at_most_ocr_size(monkeypatch):
    seen = []
    real = burned_text.engine().text_det

    def spy(img):
        seen.append(img.shape)
        return real(img)

    monkeypatch.setattr(burned_text.engine(), "text_det", spy)
    burned_text.read_boxes(np.zeros((768, 1024, 3), np.uint8))
    assert max(seen[0][:2]) == burned_text.OCR_SIZE


@pytest.mark.parametrize("shape", [(300, 400, 3), (20, 20, 3)])
def test_a_small_picture_is_read_as_it_is(shape):
    assert burned_text.read_boxes(np.zeros(shape, np.uint8)) == ([], 1.0)
