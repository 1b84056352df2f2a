"""The field of view: the bright circular disc of retina inside the black frame of a fundus
photograph. Found once per image and shared by the gradability and laterality checks.

Measures are taken in an analysis frame where the field's circle is always DIAMETER px across, so
that they mean the same whatever the camera's resolution (working copies run from ~600 to 1024 px).
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

DIAMETER = 400  # the analysis frame's field diameter, px
INNER = 0.9  # measures ignore the outer tenth of the radius: the rim is dark and its edge is sharp
MIN_AREA = 0.05  # a field covers at least this share of the picture


@dataclass
class Field:
    centre: tuple[float, float]  # working px
    radius: float  # working px
    coverage: float  # share of the field's circle that is in the picture and lit (0-1)
    offset: float  # distance of the circle's centre from the picture's centre, in radii
    fills_frame: bool  # no rim is visible: the retina fills the picture
    frame: np.ndarray  # DIAMETER² × 3 float32 RGB, the circle centred, black outside the picture
    inner: np.ndarray  # DIAMETER² bool: inside the field, away from its rim


def field_of(subject) -> Field | None:
    """The subject's field of view, found once however many checks ask (None: no fundus found)."""
    if not hasattr(subject, "_field"):
        subject._field = find_field(subject.rgb)
    return subject._field


def find_field(rgb: np.ndarray) -> Field | None:
    mask = _lit(rgb)
    if mask is None:
        return None
    height, width = mask.shape
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = max(contours, key=cv2.contourArea)
    mask = np.zeros_like(mask)
    cv2.drawContours(mask, [outline], -1, 1, thickness=-1)  # the largest lit part, holes filled
    area = float(mask.sum())
    if area < MIN_AREA * height * width:
        return None
    circle = _fit_circle(outline.reshape(-1, 2), width, height)
    fills_frame = circle is None
    if fills_frame:
        cx, cy, radius = (width - 1) / 2, (height - 1) / 2, math.hypot(width, height) / 2
        coverage = 1.0
    else:
        cx, cy, radius = circle
        if not (0.15 * min(width, height) < radius < 1.5 * max(width, height)):
            return None
        coverage = min(1.0, area / (math.pi * radius**2))
    offset = math.hypot(cx - (width - 1) / 2, cy - (height - 1) / 2) / radius
    frame, lit = _analysis_frame(rgb, mask, cx, cy, radius)
    return Field((cx, cy), radius, coverage, offset, fills_frame, frame, lit & _INNER_DISC)


def _lit(rgb):
    """Pixels of retina: red above a threshold set by the picture's own brightness (a dark
    picture's retina is still far brighter in red than the frame)."""
    red = cv2.blur(rgb[..., 0], (5, 5))
    top = float(np.percentile(red[::4, ::4], 99))
    if top < 12:
        return None  # black, or nearly
    return (red > max(8.0, 0.15 * top)).astype(np.uint8)


def _fit_circle(points, width, height):
    """Least-squares circle through the outline, leaving out where it runs along the picture's
    edge (there the field is cut, not round). None when too little rim is visible to fit."""
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    free = (x > 2) & (x < width - 3) & (y > 2) & (y < height - 3)
    if free.sum() < 0.15 * len(points) or free.sum() < 20:
        return None
    x, y = x[free], y[free]
    a = np.column_stack([2 * x, 2 * y, np.ones_like(x)])
    (cx, cy, k), *_ = np.linalg.lstsq(a, x * x + y * y, rcond=None)
    if k + cx * cx + cy * cy <= 0:
        return None
    return float(cx), float(cy), math.sqrt(k + cx * cx + cy * cy)


def _analysis_frame(rgb, mask, cx, cy, radius):
    scale = (DIAMETER / 2) / radius
    shift = np.float32(
        [[scale, 0, DIAMETER / 2 - cx * scale], [0, scale, DIAMETER / 2 - cy * scale]]
    )
    size = (DIAMETER, DIAMETER)
    if scale < 1:  # shrink with area averaging first: warpAffine alone would alias
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small_mask = cv2.resize(
            mask, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST
        )
        shift[:, :2] = np.eye(2, dtype=np.float32)
        shift[0, 2] = DIAMETER / 2 - cx * scale
        shift[1, 2] = DIAMETER / 2 - cy * scale
        rgb, mask = small, small_mask
    frame = cv2.warpAffine(rgb, shift, size, flags=cv2.INTER_LINEAR, borderValue=0)
    lit = cv2.warpAffine(mask, shift, size, flags=cv2.INTER_NEAREST, borderValue=0)
    return frame.astype(np.float32), lit.astype(bool)


def _disc(diameter, share):
    yy, xx = np.ogrid[0:diameter, 0:diameter]
    centre = (diameter - 1) / 2
    return np.hypot(xx - centre, yy - centre) < share * diameter / 2


_INNER_DISC = _disc(DIAMETER, INNER)
