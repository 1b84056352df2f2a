"""Gradability: can a grader read this picture? Sharpness, exposure (dark, bright, glare), contrast
and the field of view, each measured inside the fundus and compared with two thresholds.

good: nothing found. usable: something is a little off — the reason is kept and shown, but the
image is not flagged (graders read such pictures every day). ungradable: flagged, with the reason,
so the picture can be retaken while the patient is still there.

The thresholds come from bench/calibrate_checks.py (synthetic fundus pictures degraded at graded
strengths); its tables are in docs/checks.md. Changing a threshold means a new VERSION.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from fundushub.checks.field import DIAMETER, Field, field_of
from fundushub.checks.models import Verdict
from fundushub.checks.registry import Check, Result, register

VERSION = 1
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
WHITE = 225  # a pixel whose every channel is at least this is washed out
# Sharpness compares fine detail (1-3 px of the analysis frame) with coarser detail (3-12 px):
# blur removes the first long before the second, whatever the brightness or contrast.
FINE, MEDIUM, COARSE = 1.0, 3.0, 12.0
GLARE_MARGIN = DIAMETER // 16  # a glare patch's soft edge is no sign of sharpness


@dataclass(frozen=True)
class Rule:
    measure: str
    low: bool  # True: too low is bad; False: too high is bad
    usable: float  # past this: usable
    ungradable: float  # past this: ungradable
    slight: str  # the reason when usable
    severe: str  # the reason when ungradable

    def level(self, value) -> int:
        """0 fine, 1 usable, 2 ungradable."""
        if value is None:
            return 0
        worse = (lambda a, b: a < b) if self.low else (lambda a, b: a > b)
        return 2 if worse(value, self.ungradable) else 1 if worse(value, self.usable) else 0


# Calibrated: see docs/checks.md.
RULES = [
    Rule("sharpness", True, 0.39, 0.28, "a little blurred", "looks blurred"),
    Rule("brightness", True, 48.0, 32.0, "a little dark", "too dark"),
    Rule("brightness", False, 155.0, 190.0, "a little bright", "too bright"),
    Rule(
        "glare",
        False,
        0.04,
        0.12,
        "some glare ({pct} % of the field)",
        "glare over {pct} % of the field",
    ),
    Rule("contrast", True, 0.17, 0.13, "contrast a little low", "low contrast"),
    Rule(
        "missing",
        False,
        0.06,
        0.15,
        "field of view partly cut off{where}",
        "field of view cut off{where}",
    ),
]
OFF_CENTRE = 0.15  # radii: the reason says "off-centre" past this


def measure(field: Field) -> dict:
    """Every measure, in units that do not depend on the picture's size."""
    frame, inner = field.frame, field.inner
    green = frame[..., 1]
    white = frame.min(axis=2) >= WHITE
    lum = (frame @ LUMA)[inner]
    glare = float(white[inner].mean()) if lum.size else 0.0
    g = green[inner]
    values = {
        "sharpness": _sharpness(green, inner & ~_near(white)),
        "brightness": float(np.median(lum)) if lum.size else 0.0,
        "glare": glare,
        "contrast": float(g.std() / max(float(g.mean()), 1.0)) if g.size else 0.0,
        "missing": 1.0 - field.coverage,
        "offset": field.offset,
        "fills_frame": field.fills_frame,
        "field_radius": field.radius,
    }
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}


def judge(values: dict) -> tuple[str, str]:
    """The verdict and its reason (the worst findings first) from the measures."""
    found = []
    for rule in RULES:
        level = rule.level(values.get(rule.measure))
        if level:
            text = rule.severe if level == 2 else rule.slight
            found.append(
                (level, text.format(pct=round(values["glare"] * 100), where=_where(values)))
            )
    if not found:
        return Verdict.GOOD, ""
    found.sort(key=lambda f: -f[0])
    verdict = Verdict.UNGRADABLE if found[0][0] == 2 else Verdict.USABLE
    return verdict, "; ".join(text for _, text in found)


def check(subject) -> Result:
    field = field_of(subject)
    if field is None:
        reason = "no fundus found: the picture is black or blank"
        return Result(Verdict.UNGRADABLE, reason, True, {"field_found": False})
    values = measure(field)
    verdict, reason = judge(values)
    return Result(verdict, reason, verdict == Verdict.UNGRADABLE, values)


def _sharpness(green, area):
    if area.sum() < 0.05 * area.size:
        return None  # too little unwashed retina to tell
    fine, medium, coarse = (cv2.GaussianBlur(green, (0, 0), s) for s in (FINE, MEDIUM, COARSE))
    detail = float((fine - medium)[area].std())
    shape = float((medium - coarse)[area].std())
    return detail / max(shape, 0.5)


def _near(white):
    if not white.any():
        return white
    size = 2 * GLARE_MARGIN + 1
    return cv2.dilate(white.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)


def _where(values):
    return f" ({round(values['missing'] * 100)} % missing" + (
        ", off-centre)" if values["offset"] > OFF_CENTRE else ")"
    )


register(Check("gradability", VERSION, "gradability", check))
