"""Image edits as an operations document, re-applied by the server to the untouched original.

The browser never sends pixels: it sends what the user did, and the server replays it with Pillow,
so an edit is reproducible, auditable and cannot smuggle in other pixels. The document:

    {"rotate": 0|90|180|270 (clockwise), "flip_h": bool, "flip_v": bool,
     "crop": null | {"x", "y", "w", "h"}   (integers, in the rotated + flipped image),
     "brightness": 0.2..3, "contrast": 0.2..3   (1 = unchanged),
     "strokes": [{"tool": "brush"|"eraser", "size": 1..500, "points": [[x, y], ...]}]}

Strokes are in original-image coordinates (upright, i.e. after the EXIF orientation thumbnails
and the viewer apply). Pipeline: paint the strokes in order on a mask (brush adds, eraser
removes, round caps and joins) → rotate, then flip, then crop image and mask alike →
brightness, then contrast, per channel through one lookup table → black through the mask last,
so masked text stays black whatever the contrast. editor.js renders the same pipeline.
"""

import io
import math

from PIL import Image as PILImage
from PIL import ImageDraw, ImageOps

from fundushub.lib import jsonbody

MAX_DOCUMENT_BYTES = 1_000_000
MAX_STROKES = 500
MAX_POINTS = 20_000
# Points x brush size over all strokes: what painting the mask costs. The worst case the other
# limits allow would stall a save for seconds on a large image; this bound keeps a save quick.
MAX_INK = 2_000_000
MIN_FACTOR, MAX_FACTOR = 0.2, 3.0
MIN_SIZE, MAX_SIZE = 1, 500
ROTATIONS = (0, 90, 180, 270)
TOOLS = ("brush", "eraser")
IDENTITY = {
    "rotate": 0,
    "flip_h": False,
    "flip_v": False,
    "crop": None,
    "brightness": 1.0,
    "contrast": 1.0,
    "strokes": [],
}
# Pillow's ROTATE_* turn counter-clockwise; the document's rotations are clockwise.
_CLOCKWISE = {
    90: PILImage.Transpose.ROTATE_270,
    180: PILImage.Transpose.ROTATE_180,
    270: PILImage.Transpose.ROTATE_90,
}


class InvalidOperations(ValueError):
    """The document is malformed or out of range; the message says what to fix."""


def parse(raw: bytes, width: int, height: int) -> dict:
    """The validated, normalised operations for an upright original of width × height."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise InvalidOperations(
            f"The edit is too large (at most {MAX_DOCUMENT_BYTES // 1000} kB); "
            "use fewer or shorter strokes."
        )
    try:
        doc = jsonbody.parse(raw, max_bytes=MAX_DOCUMENT_BYTES, expect=None, what="The edit")
    except jsonbody.InvalidJSON as e:
        raise InvalidOperations(str(e)) from None
    return validate(doc, width, height)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(doc, width: int, height: int) -> dict:
    if not isinstance(doc, dict):
        raise InvalidOperations("The edit must be a JSON object.")
    unknown = sorted(set(doc) - set(IDENTITY))
    if unknown:
        raise InvalidOperations(f"Unknown field: {unknown[0]}")
    ops = {**IDENTITY, **doc}
    if not _is_int(ops["rotate"]) or ops["rotate"] not in ROTATIONS:
        raise InvalidOperations("rotate must be one of 0, 90, 180, 270.")
    for flip in ("flip_h", "flip_v"):
        if not isinstance(ops[flip], bool):
            raise InvalidOperations(f"{flip} must be true or false.")
    for factor in ("brightness", "contrast"):
        value = ops[factor]
        if not _is_number(value) or not MIN_FACTOR <= value <= MAX_FACTOR:
            raise InvalidOperations(
                f"{factor} must be a number from {MIN_FACTOR} to {MAX_FACTOR:g}."
            )
        ops[factor] = float(value)
    turned = (height, width) if ops["rotate"] in (90, 270) else (width, height)
    ops["crop"] = _crop(ops["crop"], *turned)
    ops["strokes"] = _strokes(ops["strokes"], width, height)
    return ops


def _crop(crop, width: int, height: int):
    if crop is None:
        return None
    if not isinstance(crop, dict) or set(crop) != {"x", "y", "w", "h"}:
        raise InvalidOperations("crop must be null or an object with x, y, w and h.")
    if not all(_is_int(v) for v in crop.values()):
        raise InvalidOperations("crop x, y, w and h must be whole numbers.")
    x, y, w, h = crop["x"], crop["y"], crop["w"], crop["h"]
    if w < 1 or h < 1:
        raise InvalidOperations("crop must not be empty (w and h at least 1).")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise InvalidOperations(
            f"crop must lie inside the image ({width} × {height} after rotation)."
        )
    return {"x": x, "y": y, "w": w, "h": h}


def _strokes(strokes, width: int, height: int) -> list:
    if not isinstance(strokes, list):
        raise InvalidOperations("strokes must be a list.")
    if len(strokes) > MAX_STROKES:
        raise InvalidOperations(f"Too many strokes (at most {MAX_STROKES}).")
    total, ink, clean = 0, 0, []
    for i, stroke in enumerate(strokes):
        where = f"strokes[{i}]"
        if not isinstance(stroke, dict) or set(stroke) != {"tool", "size", "points"}:
            raise InvalidOperations(f"{where} must be an object with tool, size and points.")
        if stroke["tool"] not in TOOLS:
            raise InvalidOperations(f'{where}.tool must be "brush" or "eraser".')
        size = stroke["size"]
        if not _is_int(size) or not MIN_SIZE <= size <= MAX_SIZE:
            raise InvalidOperations(
                f"{where}.size must be a whole number from {MIN_SIZE} to {MAX_SIZE}."
            )
        points = stroke["points"]
        if not isinstance(points, list) or not points:
            raise InvalidOperations(f"{where}.points must be a non-empty list of [x, y] pairs.")
        total += len(points)
        if total > MAX_POINTS:
            raise InvalidOperations(f"Too many points (at most {MAX_POINTS} in all strokes).")
        ink += len(points) * size
        if ink > MAX_INK:
            raise InvalidOperations(
                "The strokes paint too much at once: use fewer or shorter strokes, "
                "or a smaller brush."
            )
        for j, p in enumerate(points):
            if not (isinstance(p, list) and len(p) == 2 and all(_is_number(v) for v in p)):
                raise InvalidOperations(f"{where}.points[{j}] must be an [x, y] pair of numbers.")
            if not (0 <= p[0] <= width and 0 <= p[1] <= height):
                raise InvalidOperations(
                    f"{where}.points[{j}] lies outside the image ({width} × {height})."
                )
        clean.append({"tool": stroke["tool"], "size": size, "points": [list(p) for p in points]})
    return clean


def is_identity(ops: dict) -> bool:
    return ops == IDENTITY


def tone_table(brightness: float, contrast: float) -> list[int]:
    """out = clamp((clamp(in·brightness) − 127.5)·contrast + 127.5), rounded half up: exactly CSS
    `filter: brightness(b) contrast(c)` (each filter clamps), and editor.js builds the same table."""
    table = []
    for value in range(256):
        lit = min(255.0, value * brightness)
        out = (lit - 127.5) * contrast + 127.5
        table.append(int(math.floor(min(255.0, max(0.0, out)) + 0.5)))
    return table


def mask(ops: dict, size: tuple[int, int]) -> PILImage.Image:
    """The strokes painted in order: 255 where the image is to be blacked out."""
    m = PILImage.new("L", size, 0)
    draw = ImageDraw.Draw(m)
    for stroke in ops["strokes"]:
        fill, width = (255 if stroke["tool"] == "brush" else 0), stroke["size"]
        # The document's points are continuous (pixel i spans i..i+1, as on a canvas); Pillow
        # puts pixel i's centre at i.
        points = [(x - 0.5, y - 0.5) for x, y in stroke["points"]]
        if len(points) > 1:
            draw.line(points, fill=fill, width=width)
        r = (width - 1) / 2  # a disc at every point: round caps and joins, like the canvas
        for x, y in points:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    return m


def upright_pixels(im: PILImage.Image) -> PILImage.Image:
    """The original as the viewer shows it: EXIF orientation applied, in L or RGB."""
    im = ImageOps.exif_transpose(im) if im.getexif() else im
    if im.mode.startswith("I"):  # 16-bit greyscale: keep the top 8 bits
        im = im.point(lambda v: v / 256).convert("L")
    elif im.mode in ("1", "LA", "La"):
        im = im.convert("L")
    elif im.mode not in ("L", "RGB"):
        im = im.convert("RGB")
    return im


def _geometry(im: PILImage.Image, ops: dict) -> PILImage.Image:
    if ops["rotate"]:
        im = im.transpose(_CLOCKWISE[ops["rotate"]])
    if ops["flip_h"]:
        im = im.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT)
    if ops["flip_v"]:
        im = im.transpose(PILImage.Transpose.FLIP_TOP_BOTTOM)
    if ops["crop"]:
        c = ops["crop"]
        im = im.crop((c["x"], c["y"], c["x"] + c["w"], c["y"] + c["h"]))
    return im


def apply(original: PILImage.Image, ops: dict) -> PILImage.Image:
    """The edited picture: a fresh image holding pixels only (no EXIF, ICC, text or other info)."""
    im = upright_pixels(original)
    painted = _geometry(mask(ops, im.size), ops) if ops["strokes"] else None
    im = _geometry(im, ops)
    if ops["brightness"] != 1 or ops["contrast"] != 1:
        im = im.point(tone_table(ops["brightness"], ops["contrast"]) * len(im.getbands()))
    if painted is not None:
        im.paste(0 if im.mode == "L" else (0, 0, 0), mask=painted)
    clean = PILImage.new(im.mode, im.size)
    clean.paste(im)
    return clean


def encode_png(im: PILImage.Image) -> bytes:
    """Lossless; level 3 is much faster than the default for files only slightly larger."""
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=3)
    return out.getvalue()
