"""The checks, by name: each is a function of the image's working pixels that returns a Result.
A check's VERSION goes up when its code or thresholds change; run_checks re-runs only where asked."""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Result:
    verdict: str
    reason: str = ""
    flagged: bool = False
    values: dict = field(default_factory=dict)
    twin_id: object = None


@dataclass(frozen=True)
class Check:
    name: str
    version: int
    label: str
    run: Callable[["Subject"], Result]


@dataclass
class Subject:
    """What a check sees: the image row and its pixels, decoded once for every check."""

    image: object  # store.models.Image
    rgb: np.ndarray  # H×W×3 uint8, at most WORKING_SIZE on its long side
    scale: float  # working pixels per original pixel (for boxes in original coordinates)


CHECKS: dict[str, Check] = {}


def register(check: Check) -> Check:
    CHECKS[check.name] = check
    return check
