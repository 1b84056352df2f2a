"""Synthetic fundus photographs with known defects, for the checks' tests, their calibration
(bench/calibrate_checks.py) and the demo.

A picture is drawn as a camera would take it: a black frame around a circular field of view; an
orange-red retina darker towards the rim; vessels leaving the optic disc in four trunks that branch
(the temporal ones arc around the macula); the disc itself, a pale yellow oval about a seventh of
the field across, on the nasal side — right of centre in a right eye, left of centre in a left
eye, as seen in a macula-centred photograph; a darker macula at the centre; fine choroidal texture
and sensor noise, so that sharpness is measurable.

Degradation strengths are given in the same units whatever the picture's size: blur radii in
pixels of the picture seen 1024 px wide (the checks' working size), crops as shares of the field's
diameter, glare as a share of the field's area. Everything is deterministic per seed.

    im = fundus(7, eye="left", size=(2400, 1800), blur=6)     # a blurred left eye
    im = flip(fundus(7, eye="left"))                           # looks like a right eye
"""

import io
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

RIGHT, LEFT = "right", "left"
REFERENCE_WIDTH = 1024  # blur radii are in pixels of the picture at this width


@dataclass(frozen=True)
class Picture:
    """A synthetic photograph and what is true about it (pixel coordinates of the final picture)."""

    image: Image.Image
    eye: str  # the eye as it looks ("left" after flipping a right eye)
    centre: tuple[float, float]  # the field of view's centre
    radius: float  # the field of view's radius
    disc: tuple[float, float]  # the optic disc's centre
    cut: float  # share of the field of view outside the frame (0-1)


def fundus(seed: int = 0, eye: str = RIGHT, size: tuple[int, int] = (1600, 1200), **options):
    """A fundus photograph, optionally degraded: the image of picture(...)."""
    return picture(seed, eye, size, **options).image


def picture(
    seed: int = 0,
    eye: str = RIGHT,
    size: tuple[int, int] = (1600, 1200),
    *,
    field: float = 0.92,
    centre: str = "macula",
    blur: float = 0.0,
    exposure: float = 1.0,
    glare: float = 0.0,
    contrast: float = 1.0,
    crop: float = 0.0,
    flip: bool = False,
    noise: float = 1.0,
) -> Picture:
    """A fundus photograph with its truth.

    field: the field of view's diameter as a share of the picture's height (above 1 the circle is
    cut at top and bottom, as some cameras do by design). centre: "macula" (the disc sits nasally)
    or "disc" (the disc is at the centre). The defects are applied in the order light meets them:
    glare and blur in the optics, then contrast (haze), exposure, sensor noise, the crop (framing)
    and the flip (a mirrored file) last.
    """
    if eye not in (RIGHT, LEFT):
        raise ValueError(f"eye must be {RIGHT!r} or {LEFT!r}, not {eye!r}")
    if centre not in ("macula", "disc"):
        raise ValueError(f"centre must be 'macula' or 'disc', not {centre!r}")
    rng = np.random.default_rng(seed)
    width, height = size
    crop_angle = rng.uniform(0, 2 * math.pi)
    scene, inside, (cx, cy, radius, disc) = _retina(rng, eye, width, height, field, centre)
    if glare:
        scene = _glare(scene, inside, glare, rng)
    if blur:
        scene = _blur(scene, blur * width / REFERENCE_WIDTH)
    if contrast != 1.0:
        scene = _contrast(scene, inside, contrast)
    if exposure != 1.0:
        scene *= exposure
    if noise:
        scene += _noise(rng, scene.shape, 1.6 * noise)  # the sensor's
    pixels = np.clip(scene, 0, 255, out=scene).astype(np.uint8)
    dx, dy = _offset(crop * field * height, crop_angle)
    if crop:
        pixels = _shift(pixels, dx, dy)
    full = float(np.pi * radius**2)
    cut = max(0.0, 1.0 - float(_shift(inside, dx, dy).sum()) / full) if crop else _cut(inside, full)
    cx, cy, disc = cx + dx, cy + dy, (disc[0] + dx, disc[1] + dy)
    if flip:
        pixels = pixels[:, ::-1]
        cx, disc = width - 1 - cx, (width - 1 - disc[0], disc[1])
        eye = LEFT if eye == RIGHT else RIGHT
    image = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    return Picture(image, eye, (cx, cy), radius, disc, cut)


# Degradations of an existing picture (for pictures made elsewhere, or made once and degraded many ways).


def blur(image: Image.Image, radius: float) -> Image.Image:
    """Out of focus: a Gaussian blur of `radius` px as seen at 1024 px wide."""
    scene = np.asarray(image, dtype=np.float32)
    radius = radius * image.size[0] / REFERENCE_WIDTH
    return Image.fromarray(np.clip(_blur(scene, radius), 0, 255).astype(np.uint8), "RGB")


def exposure(image: Image.Image, factor: float) -> Image.Image:
    """Under- (factor < 1) or over-exposed (factor > 1); bright pixels clip at white."""
    scene = np.asarray(image, dtype=np.float32) * factor
    return Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8), "RGB")


def glare(image: Image.Image, share: float, seed: int = 0) -> Image.Image:
    """A washed-out white patch over `share` of the field of view."""
    scene = np.asarray(image, dtype=np.float32)
    out = _glare(scene, _field_of(scene), share, np.random.default_rng(seed))
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")


def low_contrast(image: Image.Image, factor: float) -> Image.Image:
    """Hazy: every pixel of the field pulled towards the field's mean colour (factor 1 = as is)."""
    scene = np.asarray(image, dtype=np.float32)
    out = _contrast(scene, _field_of(scene), factor)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")


def crop(image: Image.Image, share: float, seed: int = 0) -> Image.Image:
    """The field moved off-centre by `share` of its diameter (in a direction chosen by seed),
    so that part of it falls outside the frame."""
    pixels = np.asarray(image)
    diameter = 2 * _radius_of(_field_of(pixels.astype(np.float32)))
    angle = np.random.default_rng(seed).uniform(0, 2 * math.pi)
    return Image.fromarray(_shift(pixels, *_offset(share * diameter, angle)), "RGB")


def flip(image: Image.Image) -> Image.Image:
    """Mirrored left to right: a right eye's picture now looks like a left eye's."""
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def working_copy(image: Image.Image, quality: int = 90, size: int = 1024) -> np.ndarray:
    """The pixels a check sees of this picture once stored as a JPEG: decoded and reduced the
    way checks.runner.load_subject does (draft decoding, then a bilinear thumbnail)."""
    with Image.open(io.BytesIO(jpeg(image, quality))) as im:
        im.draft("RGB", (size, size))
        im = im.convert("RGB")
        im.thumbnail((size, size), Image.Resampling.BILINEAR)
        return np.asarray(im)


# The scene.


def _retina(rng, eye, width, height, field, centre):
    """The undegraded picture (float32 H×W×3, 0-255) and its field of view (float 0-1). Smooth
    shading is computed on a coarse grid and enlarged; edges, grain and vessels at full size."""
    cx = width / 2 + rng.normal(0, 0.004) * width
    cy = height / 2 + rng.normal(0, 0.004) * height
    radius = field * height / 2
    yy, xx = np.ogrid[0:height, 0:width]
    dist = np.hypot((xx - cx).astype(np.float32), (yy - cy).astype(np.float32)) / radius
    inside = np.clip((1.0 - dist) * (radius / 1.5), 0.0, 1.0)  # a soft edge ~1.5 px wide

    nasal = 1.0 if eye == RIGHT else -1.0  # the disc's side, in image x
    if centre == "disc":
        disc = (cx, cy + 0.02 * radius)
        macula = (cx - nasal * 0.62 * radius, cy + 0.1 * radius)
    else:
        disc = (
            cx + nasal * rng.uniform(0.55, 0.68) * radius,
            cy - rng.uniform(0.04, 0.12) * radius,
        )
        macula = (cx + rng.normal(0, 0.02) * radius, cy + rng.normal(0, 0.02) * radius)
    disc_r = radius * rng.uniform(0.13, 0.155)  # a seventh of the field across
    pigment = rng.uniform(0.85, 1.1)  # fundi differ in brightness before any exposure error
    base = tuple(pigment * rng.uniform(lo, hi) for lo, hi in ((190, 220), (80, 100), (32, 48)))

    step = max(1, width // 640)
    gy, gx = np.ogrid[0 : height + step : step, 0 : width + step : step]
    gy, gx = gy.astype(np.float32), gx.astype(np.float32)
    coarse_dist = np.hypot(gx - cx, gy - cy) / radius
    shade = 1.0 - 0.5 * np.clip(coarse_dist, 0, 1) ** 2.4  # vignetting
    macula_d = np.hypot(gx - macula[0], gy - macula[1]) / radius
    shade *= (
        1.0 - 0.3 * np.exp(-((macula_d / 0.18) ** 2)) - 0.15 * np.exp(-((macula_d / 0.04) ** 2))
    )
    disc_d = np.hypot((gx - disc[0]) / disc_r, (gy - disc[1]) / (disc_r * 1.12))
    rim = np.clip((1.0 - disc_d) / 0.18, 0, 1) * 0.85
    cup = np.clip((0.45 - disc_d) / 0.15, 0, 1) * 0.5
    shade, rim, cup = (_enlarge(a, step, width, height) for a in (shade, rim, cup))
    shade *= 1.0 + _texture(rng, height, width, radius * 0.015) * 0.035  # choroidal mottling
    shade *= 1.0 + _texture(rng, height, width, max(0.6, radius * 0.0025)) * 0.035  # fine grain
    vessels = _vessels(rng, height, width, disc, disc_r, macula, nasal, radius)
    over_disc = vessels * rim * 0.6  # vessels run over the disc too, fainter

    vein = (0.45, 0.5, 0.4)  # how much darker a vein is, per channel
    disc_colour, cup_colour = (245, 200, 130), (255, 238, 200)
    scene = np.empty((height, width, 3), np.float32)
    for c in range(3):
        ch = shade * base[c]
        ch *= 1.0 - vessels * vein[c]
        ch += (disc_colour[c] * (0.9 + 0.1 * shade) - ch) * rim
        ch += (cup_colour[c] - ch) * cup
        ch *= 1.0 - over_disc * vein[c]
        ch *= inside
        scene[..., c] = ch
    return scene, inside, (cx, cy, radius, disc)


def _noise(rng, shape, sigma):
    # OpenCV's generator is several times faster than NumPy's at 20 M values; seeded from ours.
    cv2.setRNGSeed(int(rng.integers(2**31)))
    out = np.empty(shape, np.float32)
    cv2.randn(out, 0.0, sigma)
    return out


def _enlarge(coarse, step, width, height):
    if step == 1:
        return np.ascontiguousarray(coarse[:height, :width], np.float32)
    size = (coarse.shape[1] * step, coarse.shape[0] * step)
    return cv2.resize(coarse.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)[
        :height, :width
    ]


def _texture(rng, height, width, sigma):
    """Smooth zero-mean noise of unit spread, structured at `sigma` px. Drawn at a coarser grid
    and enlarged when the structure is large (fast at 3000 px)."""
    step = max(1, int(sigma / 2))
    small = rng.standard_normal((height // step + 2, width // step + 2)).astype(np.float32)
    small = cv2.GaussianBlur(small, (0, 0), max(0.5, sigma / step))
    if step > 1:
        small = cv2.resize(
            small, (width + 2 * step, height + 2 * step), interpolation=cv2.INTER_CUBIC
        )
    out = small[:height, :width]
    return out / (out.std() + 1e-6)


def _vessels(rng, height, width, disc, disc_r, macula, nasal, radius):
    """How much vessel covers each pixel (0-1), antialiased: from the disc, an artery and a vein
    in each of four trunks. The temporal arcades follow an ellipse around the macula and send
    branches outwards (long) and towards the macula (short); the nasal trunks run outwards."""
    canvas = np.zeros((height, width), np.float32)
    centre = (width / 2, height / 2)
    tree = _Tree(canvas, rng, centre, radius, macula)
    # The arcades' ellipse: through the disc, around the macula.
    ex = macula[0] + (disc[0] - macula[0]) * 0.05
    a, b = abs(disc[0] - ex), radius * rng.uniform(0.46, 0.54)
    for up in (1.0, -1.0):
        for width_share, darkness, wobble in ((0.012, 0.85, 0.0), (0.009, 0.55, 0.08)):
            thickness = width_share * 2 * radius
            end = math.pi * rng.uniform(0.66, 0.74)  # then straight on: the arcades never meet
            thetas = np.linspace(0.0, end, 60) + wobble * np.sin(np.linspace(0, 3, 60))
            path = [
                (ex + nasal * a * math.cos(t), macula[1] - up * b * math.sin(t)) for t in thetas
            ]
            path[0] = (disc[0], disc[1] + rng.normal(0, 0.1) * disc_r)
            last = math.atan2(path[-1][1] - path[-2][1], path[-1][0] - path[-2][0])
            tail = tree.walk(path[-1], last + up * nasal * 0.3, radius * 0.6, 0.03)
            tree.draw(path + tail, thickness, darkness)
            tree.branches(path + tail, thickness, darkness, depth=1)
            # The nasal trunk on this side.
            heading = math.atan2(-up * rng.uniform(0.7, 1.3), nasal)
            nasal_path = tree.walk(path[0], heading, radius * 1.2, 0.06)
            tree.draw(nasal_path, thickness * 0.8, darkness)
            tree.branches(nasal_path, thickness * 0.8, darkness, depth=1)
    return cv2.GaussianBlur(canvas, (0, 0), max(0.5, radius * 0.0012))


class _Tree:
    def __init__(self, canvas, rng, centre, radius, macula):
        self.canvas, self.rng, self.centre, self.radius, self.macula = (
            canvas,
            rng,
            centre,
            radius,
            macula,
        )
        self.step = radius * 0.015

    def walk(self, start, heading, length, wiggle):
        """A vessel's path: small random turns, ending at the field's edge or near the fovea."""
        x, y = start
        points, travelled = [], 0.0
        while travelled < length:
            heading += self.rng.normal(0, wiggle)
            x, y = x + self.step * math.cos(heading), y + self.step * math.sin(heading)
            if math.hypot(x - self.centre[0], y - self.centre[1]) > self.radius * 1.02:
                break
            if math.hypot(x - self.macula[0], y - self.macula[1]) < self.radius * 0.1:
                break
            points.append((x, y))
            travelled += self.step
        return points

    def branches(self, path, thickness, darkness, depth):
        """Side branches every 0.12-0.25 R along a path: most outwards and long, some inwards."""
        rng, n = self.rng, len(path)
        i = int(rng.integers(4, 10))
        while i < n - 2 and thickness * 0.6 > 0.7:
            (x0, y0), (x1, y1) = path[i - 1], path[i]
            tangent = math.atan2(y1 - y0, x1 - x0)
            away = math.atan2(y1 - self.macula[1], x1 - self.macula[0])
            side = (
                1.0 if math.sin(away - tangent) > 0 else -1.0
            )  # the side facing away from the macula
            outward = rng.random() < 0.65
            turn = side * rng.uniform(0.5, 1.0) * (1 if outward else -1)
            length = self.radius * (rng.uniform(0.3, 0.7) if outward else rng.uniform(0.12, 0.3))
            child = self.walk((x1, y1), tangent + turn, length / (depth + 0.5), 0.07)
            self.draw([(x1, y1), *child], thickness * 0.6, darkness * 0.85)
            if depth < 2:
                self.branches(child, thickness * 0.6, darkness * 0.85, depth + 1)
            i += int(rng.integers(8, 17))

    def draw(self, points, thickness, darkness):
        if len(points) < 2:
            return
        line = (np.array(points) * 16).astype(np.int32).reshape(-1, 1, 2)  # 4 fractional bits
        cv2.polylines(
            self.canvas, [line], False, darkness, max(1, round(thickness)), cv2.LINE_AA, shift=4
        )


def _blur(scene, radius):
    if radius <= 0:
        return scene
    return cv2.GaussianBlur(scene, (0, 0), radius)


def _glare(scene, inside, share, rng):
    """A white patch whose fully washed-out core covers `share` of the field, fading at its edge."""
    height, width = inside.shape
    field_area = float(inside.sum())
    core = math.sqrt(share * field_area / math.pi)
    cy, cx = (np.array(inside.shape) - 1) / 2
    radius = _radius_of(inside)
    angle, reach = rng.uniform(0, 2 * math.pi), rng.uniform(0.2, 0.6) * radius
    gx, gy = cx + reach * math.cos(angle), cy + reach * math.sin(angle)
    yy, xx = np.ogrid[0:height, 0:width]
    d = np.hypot(xx - gx, yy - gy).astype(np.float32)
    veil = np.clip(1.0 - (d - core) / (core + 1), 0, 1) ** 2
    white = np.array([262, 258, 250], np.float32)  # past white: the core clips
    return scene * (1 - veil[..., None]) + white * (veil * inside)[..., None]


def _contrast(scene, inside, factor):
    weight = inside[..., None]
    mean = (scene * weight).sum(axis=(0, 1)) / max(1.0, float(inside.sum()))
    return (mean + (scene - mean) * factor) * weight + scene * (1 - weight)


def _offset(distance, angle):
    return round(distance * math.cos(angle)), round(distance * math.sin(angle))


def _cut(inside, full):
    return max(0.0, 1.0 - float(inside.sum()) / full)


def _shift(pixels, dx, dy):
    out = np.zeros_like(pixels)
    height, width = pixels.shape[:2]
    src = pixels[max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def _field_of(scene):
    """The field of view of a picture made here: whatever is not the black frame."""
    return (scene.max(axis=2) > 12).astype(np.float32)


def _radius_of(inside):
    return math.sqrt(float(inside.sum()) / math.pi)
