"""The operations document: what each operation does to known pixels, and every way it is refused."""

import io
import json
import struct

import pytest
from PIL import Image as PILImage

from fundushub.library import editing
from fundushub.library.editing import InvalidOperations

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def marked(size=(4, 3)) -> PILImage.Image:
    """A grey picture with red top-left, green top-right and blue bottom-left corners."""
    w, h = size
    im = PILImage.new("RGB", size, (100, 100, 100))
    im.putpixel((0, 0), RED)
    im.putpixel((w - 1, 0), GREEN)
    im.putpixel((0, h - 1), BLUE)
    return im


def edit(im, **ops):
    return editing.apply(im, editing.validate(ops, *im.size))


def test_rotating_90_degrees_clockwise_puts_the_top_left_pixel_top_right():
    out = edit(marked(), rotate=90)
    assert out.size == (3, 4)
    assert out.getpixel((2, 0)) == RED
    assert out.getpixel((2, 3)) == GREEN  # top-right went to bottom-right
    assert out.getpixel((0, 0)) == BLUE  # bottom-left came up to top-left


def test_rotating_180_and_270_degrees_turn_clockwise_too():
    assert edit(marked(), rotate=180).getpixel((3, 2)) == RED
    out = edit(marked(), rotate=270)
    assert out.size == (3, 4)
    assert out.getpixel((0, 3)) == RED
    assert out.getpixel((0, 0)) == GREEN


def test_flips_mirror_left_right_and_top_bottom():
    assert edit(marked(), flip_h=True).getpixel((3, 0)) == RED
    assert edit(marked(), flip_v=True).getpixel((0, 2)) == RED
    assert edit(marked(), flip_h=True, flip_v=True).getpixel((3, 2)) == RED


def test_flips_apply_to_the_rotated_image():
    # Rotated 90° the red corner is top-right of a 3 × 4 image; flipped left-right it is top-left.
    out = edit(marked(), rotate=90, flip_h=True)
    assert out.getpixel((0, 0)) == RED


def test_crop_keeps_the_rectangle_given_in_rotated_coordinates():
    out = edit(marked(), rotate=90, crop={"x": 1, "y": 0, "w": 2, "h": 4})
    assert out.size == (2, 4)
    assert out.getpixel((1, 0)) == RED


def test_brightness_then_contrast_follow_the_css_formula_on_a_known_pixel():
    im = PILImage.new("RGB", (1, 1), (100, 200, 0))
    out = edit(im, brightness=1.5, contrast=2.0)
    # (100·1.5 − 127.5)·2 + 127.5 = 172.5 → 173; 200·1.5 clamps to 255 first: (127.5·2 + 127.5) → 255
    assert out.getpixel((0, 0)) == (173, 255, 0)


def test_brightness_clamps_before_contrast_like_css_filters():
    im = PILImage.new("L", (1, 1), 200)
    # 200·2 = 400 → 255, then (255 − 127.5)·0.5 + 127.5 = 191.25 → 191 (not 263 → 255).
    assert edit(im, brightness=2, contrast=0.5).getpixel((0, 0)) == 191


def test_the_tone_table_is_the_identity_at_one_and_one():
    assert editing.tone_table(1.0, 1.0) == list(range(256))


def test_the_brush_paints_black_where_stroked_and_nowhere_else():
    im = PILImage.new("RGB", (40, 20), WHITE)
    out = edit(im, strokes=[{"tool": "brush", "size": 4, "points": [[5, 10], [15, 10]]}])
    assert out.getpixel((10, 10)) == (0, 0, 0)
    assert out.getpixel((5, 10)) == (0, 0, 0)  # round cap reaches the end point
    assert out.getpixel((30, 10)) == WHITE
    assert out.getpixel((10, 2)) == WHITE


def test_a_single_point_stroke_paints_a_round_dot_of_its_size():
    im = PILImage.new("L", (30, 30), 255)
    out = edit(im, strokes=[{"tool": "brush", "size": 10, "points": [[15, 15]]}])
    assert out.getpixel((15, 15)) == 0
    assert out.getpixel((15, 11)) == 0
    assert out.getpixel((15, 22)) == 255
    assert out.getpixel((11, 11)) == 255  # a disc, not a square


def test_the_eraser_takes_paint_away_and_strokes_apply_in_order():
    im = PILImage.new("RGB", (40, 20), WHITE)
    brush = {"tool": "brush", "size": 8, "points": [[2, 10], [38, 10]]}
    eraser = {"tool": "eraser", "size": 8, "points": [[20, 10]]}
    out = edit(im, strokes=[brush, eraser])
    assert out.getpixel((20, 10)) == WHITE
    assert out.getpixel((5, 10)) == (0, 0, 0)
    again = edit(im, strokes=[eraser, brush])  # erasing first removes nothing
    assert again.getpixel((20, 10)) == (0, 0, 0)


def test_the_mask_turns_with_the_image_and_stays_black_whatever_the_tone():
    im = PILImage.new("RGB", (40, 20), (50, 50, 50))
    stroke = {"tool": "brush", "size": 6, "points": [[4, 4]]}  # near the top-left of the original
    out = edit(im, rotate=90, contrast=0.2, brightness=3, strokes=[stroke])
    assert out.size == (20, 40)
    assert out.getpixel((20 - 4, 4)) == (0, 0, 0)  # now near the top-right
    assert out.getpixel((4, 4)) != (0, 0, 0)


def test_the_result_is_a_fresh_image_without_metadata():
    im = marked()
    im.info.update({"icc_profile": b"x" * 200, "dpi": (300, 300), "comment": b"Patient: Jane"})
    png = editing.encode_png(edit(im, rotate=90))
    assert png_chunks(png) == ["IHDR", "IDAT", "IEND"]


def test_an_exif_orientation_is_applied_first_as_the_viewer_shows_it():
    im = marked()
    exif = PILImage.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, quality=100)
    upright = editing.upright_pixels(PILImage.open(io.BytesIO(out.getvalue())))
    assert upright.size == (3, 4)


@pytest.mark.parametrize(
    "mode, expected", [("RGBA", "RGB"), ("P", "RGB"), ("L", "L"), ("LA", "L"), ("I;16", "L")]
)
def test_any_png_mode_becomes_greyscale_or_rgb(mode, expected):
    im = PILImage.new(mode, (4, 4))
    assert editing.upright_pixels(im).mode == expected


def test_a_16_bit_greyscale_keeps_its_top_eight_bits():
    im = PILImage.new("I;16", (1, 1), 0x8040)
    assert editing.upright_pixels(im).getpixel((0, 0)) == 0x80


def doc(**ops):
    return json.dumps(ops).encode()


def test_a_valid_document_is_normalised_with_every_field():
    ops = editing.parse(doc(rotate=90, brightness=2), 40, 30)
    assert ops == {**editing.IDENTITY, "rotate": 90, "brightness": 2.0}
    assert not editing.is_identity(ops)
    assert editing.is_identity(editing.parse(b"{}", 40, 30))


STROKE = {"tool": "brush", "size": 5, "points": [[1, 1]]}


@pytest.mark.parametrize(
    "ops, message",
    [
        ({"rotate": 45}, "rotate must be one of 0, 90, 180, 270."),
        ({"rotate": "90"}, "rotate must be one of 0, 90, 180, 270."),
        ({"rotate": 90.0}, "rotate must be one of 0, 90, 180, 270."),
        ({"rotate": True}, "rotate must be one of 0, 90, 180, 270."),
        ({"flip_h": 1}, "flip_h must be true or false."),
        ({"flip_v": "yes"}, "flip_v must be true or false."),
        ({"brightness": 0.1}, "brightness must be a number from 0.2 to 3."),
        ({"brightness": 3.5}, "brightness must be a number from 0.2 to 3."),
        ({"brightness": "1"}, "brightness must be a number from 0.2 to 3."),
        ({"contrast": None}, "contrast must be a number from 0.2 to 3."),
        ({"contrast": False}, "contrast must be a number from 0.2 to 3."),
        ({"crop": [0, 0, 1, 1]}, "crop must be null or an object with x, y, w and h."),
        ({"crop": {"x": 0, "y": 0, "w": 5}}, "crop must be null or an object with x, y, w and h."),
        ({"crop": {"x": 0, "y": 0, "w": 5.5, "h": 5}}, "crop x, y, w and h must be whole numbers."),
        (
            {"crop": {"x": 0, "y": 0, "w": 0, "h": 5}},
            "crop must not be empty (w and h at least 1).",
        ),
        ({"crop": {"x": -1, "y": 0, "w": 5, "h": 5}}, "crop must lie inside the image (40 × 30"),
        ({"crop": {"x": 30, "y": 0, "w": 11, "h": 5}}, "crop must lie inside the image (40 × 30"),
        ({"crop": {"x": 0, "y": 0, "w": 40, "h": 31}}, "crop must lie inside the image (40 × 30"),
        (
            {"rotate": 90, "crop": {"x": 0, "y": 0, "w": 40, "h": 30}},
            "crop must lie inside the image (30 × 40 after rotation).",
        ),
        ({"strokes": {}}, "strokes must be a list."),
        ({"strokes": [[1, 2]]}, "strokes[0] must be an object with tool, size and points."),
        ({"strokes": [{**STROKE, "colour": "red"}]}, "strokes[0] must be an object with"),
        ({"strokes": [{**STROKE, "tool": "pen"}]}, 'strokes[0].tool must be "brush" or "eraser".'),
        (
            {"strokes": [{**STROKE, "size": 0}]},
            "strokes[0].size must be a whole number from 1 to 500.",
        ),
        ({"strokes": [{**STROKE, "size": 501}]}, "strokes[0].size must be a whole number from"),
        ({"strokes": [{**STROKE, "size": 2.5}]}, "strokes[0].size must be a whole number from"),
        ({"strokes": [{**STROKE, "points": []}]}, "strokes[0].points must be a non-empty list"),
        ({"strokes": [{**STROKE, "points": "1,1"}]}, "strokes[0].points must be a non-empty list"),
        ({"strokes": [{**STROKE, "points": [[1]]}]}, "strokes[0].points[0] must be an [x, y] pair"),
        ({"strokes": [{**STROKE, "points": [["1", 1]]}]}, "strokes[0].points[0] must be an [x, y]"),
        (
            {"strokes": [STROKE, {**STROKE, "points": [[1, 1], [41, 2]]}]},
            "strokes[1].points[1] lies outside the image (40 × 30).",
        ),
        ({"strokes": [{**STROKE, "points": [[1, -0.5]]}]}, "strokes[0].points[0] lies outside"),
        ({"strokes": [STROKE] * 501}, "Too many strokes (at most 500)."),
        (
            {"strokes": [{**STROKE, "points": [[1, 1]] * 10_000}] * 2 + [STROKE]},
            "Too many points (at most 20000 in all strokes).",
        ),
        ({"zoom": 2}, "Unknown field: zoom"),
    ],
)
def test_each_bad_field_is_refused_with_a_message_that_says_what_to_fix(ops, message):
    with pytest.raises(InvalidOperations) as e:
        editing.parse(doc(**ops), 40, 30)
    assert str(e.value).startswith(message)


def test_the_limits_themselves_are_accepted():
    # 500 strokes x 40 points x size 100 = exactly MAX_INK; the largest brush is accepted below.
    strokes = [{**STROKE, "size": 100, "points": [[0, 0], [40, 30]] * 20}] * 500
    assert (
        editing.parse(doc(strokes=[{**STROKE, "size": 500}]), 40, 30)["strokes"][0]["size"] == 500
    )
    ops = editing.parse(
        doc(brightness=0.2, contrast=3, crop={"x": 0, "y": 0, "w": 40, "h": 30}, strokes=strokes),
        40,
        30,
    )
    assert len(ops["strokes"]) == 500


def test_strokes_that_would_paint_too_much_at_once_are_refused():
    strokes = [{**STROKE, "size": 500, "points": [[0, 0], [40, 30]] * 20}] * 101
    with pytest.raises(editing.InvalidOperations, match="paint too much at once"):
        editing.parse(doc(strokes=strokes), 40, 30)


def test_deeply_nested_json_is_invalid_json_not_a_crash():
    with pytest.raises(editing.InvalidOperations, match="nested too deeply"):
        editing.parse(b"[" * 200_000, 40, 30)


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"not json", "The edit is not valid JSON ("),
        (b"\xff\xfe", "The edit is not valid JSON ("),
        (b"[]", "The edit must be a JSON object."),
        (b'{"brightness": NaN}', "NaN is not a number"),
        (b'{"brightness": Infinity}', "Infinity is not a number"),
        (b" " * (editing.MAX_DOCUMENT_BYTES + 1), "The edit is too large"),
    ],
)
def test_a_document_that_is_not_a_small_json_object_is_refused(raw, message):
    with pytest.raises(InvalidOperations) as e:
        editing.parse(raw, 40, 30)
    assert str(e.value).startswith(message)


def png_chunks(data: bytes) -> list[str]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8].decode())
        pos += 12 + length
    return list(dict.fromkeys(chunks))
