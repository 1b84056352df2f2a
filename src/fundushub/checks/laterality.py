"""Laterality: which eye does the picture show? In a macula-centred photograph the optic disc lies
on the nasal side — right of centre in a right eye, left of centre in a left eye, as the picture
is seen. The disc is found as the brightest disc-sized blob in the field; the check flags "eye may
be mislabelled" only when the declared eye is the other one and the prediction is confident: the
disc is well off-centre and stands out from the retina around it. A disc-centred picture (disc
near the centre) gives no prediction ("unsure") and no flag.
"""

import cv2
import numpy as np

from fundushub.checks.field import DIAMETER, field_of
from fundushub.checks.gradability import LUMA, WHITE
from fundushub.checks.models import Verdict
from fundushub.checks.registry import Check, Result, register

VERSION = 1
RIGHT, LEFT, UNSURE = "right", "left", "unsure"
# The disc is about a seventh of the field across: a blob of that size stands out between these.
DISC_SIGMA, SURROUND_SIGMA = DIAMETER * 0.03, DIAMETER * 0.12
# Confidence grows with the disc's distance from the centre (radii) ...
SIDE_FROM, SIDE_FULL = 0.2, 0.45
# ... with how much brighter it is than the retina's median (a share of that median) ...
SALIENCE_FROM, SALIENCE_FULL = 0.15, 0.5
# ... and falls when it is far above or below the horizontal (no disc sits there).
HEIGHT_FROM, HEIGHT_NONE = 0.35, 0.55
# ... and when a rival blob nearly as strong lies on the other side.
RIVAL_FROM, RIVAL_FULL = 0.6, 0.9
CONFIDENT = 0.5  # flag a disagreement from this confidence on
GLARE_BLOB = 0.06  # washed-out patches larger than this share of the field are not the disc


def locate_disc(field):
    """The disc in the analysis frame: (x, y, salience, rival), or None. Two candidates are
    found; a washed-out one gives way to one that is not (glare is white, a disc is yellow unless
    over-exposed) and is then no rival. rival: the other candidate's strength as a share of the chosen one's, when it
    lies on the other side of the centre (the prediction is then less sure)."""
    frame, inner = field.frame, field.inner
    if inner.sum() < 0.2 * inner.size:
        return None
    lum = frame @ LUMA
    median = float(np.median(lum[inner]))
    white = (frame.min(axis=2) >= WHITE)[::2, ::2]
    lum = np.where(inner & ~_glare_patches(frame, inner), lum, median).astype(np.float32)
    # At half the analysis size: the disc is a large feature, and the wide blurs cost a quarter.
    lum = cv2.resize(lum, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    disc = cv2.GaussianBlur(lum, (0, 0), DISC_SIGMA / 2)
    blob = disc - cv2.GaussianBlur(lum, (0, 0), SURROUND_SIGMA / 2)
    blob[~inner[::2, ::2]] = -np.inf
    first = _peak(blob)
    spread = int(DIAMETER * 0.1)  # a disc's radius and a half, at half size
    blob[
        max(0, first[1] - spread) : first[1] + spread, max(0, first[0] - spread) : first[0] + spread
    ] = -np.inf
    second = _peak(blob)
    candidates = [c for c in (first, second) if np.isfinite(c[2]) and c[2] > 0]
    if not candidates:
        return None
    if (
        len(candidates) == 2
        and second[2] > 0.3 * first[2]
        and _whiteness(white, first) > 0.5 > _whiteness(white, second)
    ):
        candidates = [second]  # the white one is glare: no rival
    (x, y, strength), others = candidates[0], candidates[1:]
    half = DIAMETER / 4
    rival = 0.0
    if others and (others[0][0] - half) * (x - half) < 0:
        rival = others[0][2] / strength
    salience = (float(disc[y, x]) - median) / max(median, 1.0)
    return 2.0 * x + 0.5, 2.0 * y + 0.5, salience, rival


def _peak(response):
    y, x = np.unravel_index(int(np.argmax(response)), response.shape)
    return int(x), int(y), float(response[y, x])


def _whiteness(white, candidate):
    x, y, _ = candidate
    r = int(DIAMETER * 0.035)  # a disc's radius, at half size
    return float(white[max(0, y - r) : y + r, max(0, x - r) : x + r].mean())


def predict(field) -> dict:
    found = locate_disc(field)
    if found is None:
        return {"predicted": UNSURE, "confidence": 0.0}
    x, y, salience, rival = found
    half = DIAMETER / 2
    dx, dy = (x - half) / half, (y - half) / half  # in radii, + is right and down
    side = _ramp(abs(dx), SIDE_FROM, SIDE_FULL)
    confidence = side * _ramp(salience, SALIENCE_FROM, SALIENCE_FULL)
    confidence *= 1.0 - _ramp(abs(dy), HEIGHT_FROM, HEIGHT_NONE)
    confidence *= 1.0 - _ramp(rival, RIVAL_FROM, RIVAL_FULL)
    cx, cy = field.centre
    return {
        "predicted": UNSURE if side == 0 else RIGHT if dx > 0 else LEFT,
        "confidence": round(confidence, 3),
        "disc_x": round(cx + dx * field.radius, 1),  # working px
        "disc_y": round(cy + dy * field.radius, 1),
        "disc_dx": round(dx, 3),  # from the field's centre, in radii
        "disc_dy": round(dy, 3),
        "disc_salience": round(salience, 3),
        "rival": round(rival, 3),
    }


def check(subject) -> Result:
    declared = _declared_eye(subject.image)
    field = field_of(subject)
    values = predict(field) if field is not None else {"predicted": UNSURE, "confidence": 0.0}
    values["declared"] = declared or ""
    predicted = values["predicted"]
    if declared and predicted not in (UNSURE, declared) and values["confidence"] >= CONFIDENT:
        side = "right" if predicted == RIGHT else "left"
        reason = f"eye may be mislabelled: the optic disc is on the {side}, as in a {predicted} eye"
        return Result(Verdict.FLAG, reason, True, values)
    return Result(Verdict.PASS, "", False, values)


def _declared_eye(image):
    """ "left" or "right" from the image's area; None when unknown or both eyes."""
    area = getattr(image, "area", None) if getattr(image, "area_id", None) else None
    code = getattr(area, "code", "")
    return code if code in (RIGHT, LEFT) else None


def _glare_patches(frame, inner):
    """Washed-out areas too large to be the disc (glare): left out of the search."""
    white = (frame.min(axis=2) >= WHITE) & inner
    if not white.any():
        return white
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        white.astype(np.uint8), connectivity=8
    )
    large = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] > GLARE_BLOB * inner.sum())
    large = large[large > 0]
    if not large.size:
        return np.zeros_like(white)
    patches = np.isin(labels, large).astype(np.uint8)
    margin = int(SURROUND_SIGMA)  # with their soft edges
    return cv2.dilate(patches, np.ones((margin, margin), np.uint8)).astype(bool)


def _ramp(value, start, full):
    return min(1.0, max(0.0, (value - start) / (full - start)))


register(Check("laterality", VERSION, "laterality", check))
