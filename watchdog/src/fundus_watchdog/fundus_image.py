"""A synthetic fundus photograph as a JPEG, drawn and encoded with Pillow.

Pillow comes with the `simulate` extra (`pip install "fundus-watchdog[simulate]"`), not with the
workstation client, whose only dependencies are watchdog and requests: it is imported when a
picture is made, never when the package is. Pictures are cached per (eye, variant, size); each
file is made unique with a COM segment (different bytes and checksum, same picture).
"""

import functools
import io
import math
import random

EXTRA_MISSING = (
    "the camera simulator needs Pillow to draw its pictures: install the simulate extra,"
    ' pip install "fundus-watchdog[simulate]"'
)


class SimulatorNeedsPillow(RuntimeError):
    """Pillow is not installed (the watchdog was installed without its `simulate` extra)."""


def require_pillow():
    """Pillow's Image, ImageDraw and ImageFilter, or a clear error naming the extra that brings them."""
    try:
        from PIL import Image, ImageDraw, ImageFilter
    except ImportError as e:
        raise SimulatorNeedsPillow(EXTRA_MISSING) from e
    return Image, ImageDraw, ImageFilter


def _render(width: int, height: int, eye: str, variant: int):
    """A fundus: orange retina in a circular field, optic disc, macula and vessel arcades.

    The optic disc is drawn on the image's right for a right eye, on the left for a left eye,
    as fundus photographs are conventionally shown."""
    image_mod, draw_mod, filters = require_pillow()
    rng = random.Random(f"{eye}-{variant}")
    cx, cy, radius = width / 2, height / 2, 0.48 * min(width, height)
    side = 1 if eye == "right" else -1
    disc_x, disc_y, disc_r = cx + side * 0.26 * radius * 1.6, cy - 0.03 * height, 0.12 * radius
    mac_x, mac_y, mac_r = cx - side * 0.1 * radius, cy + 0.02 * height, 0.2 * radius
    tint = rng.uniform(-12, 12)

    def circle(x, y, r):
        return (x - r, y - r, x + r, y + r)

    retina = image_mod.new("RGB", (width, height), (round(200 + tint), round(85 + tint / 2), 35))
    draw = draw_mod.Draw(retina)
    draw.ellipse(circle(mac_x, mac_y, mac_r), fill=(150, 64, 26))
    for k in range(6):  # vessel arcades leaving the disc
        temporal = k < 4
        up = 1 if k % 2 == 0 else -1
        reach = (1.25 if temporal else 0.55) * radius * rng.uniform(0.85, 1.1)
        rise = (0.55 if temporal else 0.45) * radius * rng.uniform(0.8, 1.15)
        rise *= 0.7 if k >= 2 else 1
        steps = 24
        points = []
        for s in range(steps + 1):
            t = s / steps
            x = disc_x - side * (reach * t if temporal else -reach * t)
            y = disc_y - up * rise * math.sin(t * math.pi * (0.8 if temporal else 0.5))
            points.append((x, y))
        thick = max(1, round(2 * 2.6 * (1 if k < 2 else 0.7) * radius / 200))
        draw.line(points, fill=(120, 30, 14), width=thick, joint="curve")
    draw.ellipse(circle(disc_x, disc_y, disc_r * 1.26), fill=(250, 210, 140))
    retina = retina.filter(filters.GaussianBlur(max(0.5, radius / 160)))

    # Light falls off towards the edge of the field; outside it the picture is black.
    falloff = image_mod.radial_gradient("L").resize((round(2 * radius), round(2 * radius)))
    shade = image_mod.new("L", (width, height), 255)
    shade.paste(falloff.point(lambda v: 255 - v // 2), (round(cx - radius), round(cy - radius)))
    field = image_mod.new("L", (width, height), 0)
    draw_mod.Draw(field).ellipse(circle(cx, cy, radius), fill=255)
    black = image_mod.new("RGB", (width, height), (0, 0, 0))
    return image_mod.composite(image_mod.composite(retina, black, shade), black, field)


@functools.lru_cache(maxsize=32)
def fundus_picture(eye: str, variant: int = 0, width: int = 640, height: int = 480) -> bytes:
    """The JPEG bytes of one synthetic fundus picture (cached: identical for the same arguments)."""
    out = io.BytesIO()
    _render(width, height, eye, variant).save(out, "JPEG", quality=90)
    return out.getvalue()


def with_comment(jpeg: bytes, comment: str) -> bytes:
    """The same picture with a COM segment after SOI, so every file has its own bytes."""
    text = comment.encode("utf-8")[:65000]
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]
