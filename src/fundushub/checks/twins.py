"""Near-duplicates: a resized, re-encoded or slightly cropped copy of an earlier image of the same
hospital is linked to it (ImageCheck.twin) and flagged for review, never refused. Exact copies
never get here: the store keeps one image per hospital and MD5.

Fundus photographs look alike: a black frame, an orange disc, the same vessel arcades. A plain
perceptual hash (ImageHash's phash or dhash of the whole picture) is mostly that shared layout, so
different eyes come within a few bits of each other, and a crop moves it further than a different
eye does (measured on synthetic pictures). The fingerprint therefore looks only at what tells
eyes apart, in the retina's own frame:

1. find the field of view (the largest bright region) and fit a circle to its edge, leaving out
   the edge the frame cuts: every copy is mapped onto the same square, however it was resized or
   cropped;
2. keep the fine dark detail (vessels) inside 85 % of the radius: the green channel minus its
   blur, dark side only; the rim, the lighting and the disc's glow drop out;
3. take the odd-order coefficients of its 2-D DCT: the even ones hold what is symmetric about the
   centre (the round field, the vignetting), which every fundus shares. Each bit says whether a
   coefficient is above the median of its group (as ImageHash's phash does).

The lowest 8 × 8 of those coefficients make the 64-bit hash kept in PerceptualHash (its 16-bit
quarters are indexed, so candidates are found by index look-ups); the lowest 16 × 16 make a
256-bit detail kept in this check's values, which decides. Twins are within TWIN_DISTANCE bits of
the detail; different eyes are many more apart.
"""

import cv2
import numpy as np
from django.db import transaction
from django.db.models import Q
from PIL import Image as PILImage
from scipy import fft, ndimage

from fundushub.checks.models import ImageCheck, PerceptualHash, Verdict
from fundushub.checks.registry import Check, Result, Subject, register

NAME = "near_duplicate"
VERSION = 1

FIT_SIZE = 256  # the field of view is found on a copy this size
SQUARE = 128  # the retina's square, in pixels
INNER = 0.85  # share of the radius looked at (the rim is dark, often cut, often flared)
DETAIL_SIGMA = 2.0  # what counts as fine detail, in pixels of the square
DCT_SIZE = 64
# Below this spread of detail (grey levels) a picture has nothing to compare (blank, black,
# or blurred beyond use): every such picture would look like every other.
MIN_DETAIL = 0.4
# 256-bit detail: between the distances measured for copies (resized, re-encoded, cropped) and
# for different eyes, with room on both sides (tests/checks/test_twins.py keeps the margins).
TWIN_DISTANCE = 32
# 64-bit hash: candidates further apart than this are not worth fetching the detail for; well
# above what copies measured (the detail decides).
CANDIDATE_DISTANCE = 12
# At most this many candidates are compared per image: the check's time stays bounded however
# many look-alikes a hospital holds.
MAX_CANDIDATES = 5000
# ... and the details of at most this many of the closest of them are read.
MAX_DETAILS = 200


class Fingerprint:
    def __init__(self, bits64: np.ndarray, bits256: np.ndarray):
        self.value = _as_int(bits64)  # unsigned
        self.detail = _as_int(bits256)

    @property
    def signed(self) -> int:
        """The 64 bits as a signed integer, which a BigIntegerField holds."""
        return self.value - (1 << 64) if self.value >= 1 << 63 else self.value

    def quarters(self) -> list[int]:
        return [(self.value >> (16 * i)) & 0xFFFF for i in range(4)]

    def hex(self) -> str:
        return f"{self.value:016x}"

    def detail_hex(self) -> str:
        return f"{self.detail:064x}"


def _as_int(bits: np.ndarray) -> int:
    return int("".join("1" if b else "0" for b in bits.ravel()), 2)


def unsigned(value: int) -> int:
    return value & 0xFFFFFFFFFFFFFFFF


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def fingerprint(rgb: np.ndarray) -> Fingerprint | None:
    """The picture's fingerprint, or None when it has too little detail to compare."""
    square, inside = _retina_square(rgb)
    green = square.astype(np.float32)
    green[~inside] = green[inside].mean() if inside.any() else 0.0
    detail = np.minimum(green - cv2.GaussianBlur(green, (0, 0), DETAIL_SIGMA), 0.0)
    detail[~inside] = 0.0
    if not inside.any() or float(detail[inside].std()) < MIN_DETAIL:
        return None
    small = cv2.resize(detail, (DCT_SIZE, DCT_SIZE), interpolation=cv2.INTER_AREA)
    odd = fft.dctn(small.astype(np.float64), type=2)[1:33:2, 1:33:2]  # 16 × 16
    low = odd[:8, :8]
    return Fingerprint(low > np.median(low), odd > np.median(odd))


def _retina_square(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The green channel on the retina's square (SQUARE × SQUARE) and the disc looked at."""
    height, width = rgb.shape[:2]
    cx, cy, r = _field_of_view(rgb) or (width / 2, height / 2, min(width, height) / 2)
    green = PILImage.fromarray(np.ascontiguousarray(rgb[..., 1]))
    box = (round(cx - r), round(cy - r), round(cx + r), round(cy + r))  # outside: black
    square = np.asarray(green.crop(box).resize((SQUARE, SQUARE), PILImage.Resampling.BILINEAR))
    yy, xx = np.ogrid[0:SQUARE, 0:SQUARE]
    half = SQUARE / 2
    inside = np.hypot(xx - half + 0.5, yy - half + 0.5) <= INNER * half
    return square, inside


def _field_of_view(rgb: np.ndarray):
    """(cx, cy, r) of the circular field of view in rgb's pixels, or None if there is none.

    A least-squares circle through the edge of the largest bright region, leaving out the edge
    that lies on the frame (a cut field) — burned-in text and flare outside it do not count.
    """
    height, width = rgb.shape[:2]
    k = FIT_SIZE / max(height, width)
    size = (max(1, round(width * k)), max(1, round(height * k)))
    lum = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).max(axis=2).astype(np.int16)
    bright = lum > max(16, int(np.percentile(lum, 99) * 0.15))
    labels, n = ndimage.label(bright)
    if n == 0:
        return None
    largest = np.bincount(labels.ravel())[1:].argmax() + 1
    field = ndimage.binary_fill_holes(labels == largest)
    edge = field & ~ndimage.binary_erosion(field)
    edge[:2, :] = edge[-2:, :] = edge[:, :2] = edge[:, -2:] = False
    ys, xs = np.nonzero(edge)
    if len(xs) < 20:
        return None
    xs, ys = xs.astype(np.float64), ys.astype(np.float64)
    a = np.column_stack([xs, ys, np.ones_like(xs)])
    (d, e, f), *_ = np.linalg.lstsq(a, -(xs**2 + ys**2), rcond=None)
    cx, cy = -d / 2, -e / 2
    r2 = cx * cx + cy * cy - f
    if r2 <= 0 or not 0.15 * FIT_SIZE <= r2**0.5 <= 0.8 * FIT_SIZE:
        return None
    return cx / k, cy / k, r2**0.5 / k


def store(image, fp: Fingerprint) -> None:
    """Keep the hash (indexed) and the detail (this check's values) in one transaction: whoever
    finds the hash can read the detail, so of two twins stored at once the later one always
    links the earlier. The runner then replaces this provisional result with the final one."""
    q0, q1, q2, q3 = fp.quarters()
    with transaction.atomic():
        ImageCheck.objects.update_or_create(
            image=image,
            name=NAME,
            defaults={
                "version": VERSION,
                "verdict": Verdict.PASS,
                "flagged": False,
                "reason": "",
                "values": _values(fp),
                "twin": None,
            },
        )
        PerceptualHash.objects.update_or_create(
            image=image,
            defaults={
                "hospital_id": image.hospital_id,
                "value": fp.signed,
                "q0": q0,
                "q1": q1,
                "q2": q2,
                "q3": q3,
            },
        )


def _values(fp: Fingerprint) -> dict:
    return {"hash": fp.hex(), "detail": fp.detail_hex()}


def nearest_earlier(image, fp: Fingerprint):
    """(twin image id, detail distance, candidates compared) of the closest earlier image of the
    same hospital within TWIN_DISTANCE; twin is None when there is none."""
    q0, q1, q2, q3 = fp.quarters()
    candidates = list(
        PerceptualHash.objects.filter(hospital_id=image.hospital_id)
        .filter(Q(q0=q0) | Q(q1=q1) | Q(q2=q2) | Q(q3=q3))
        .exclude(image_id=image.pk)
        .values_list("image_id", "value")[:MAX_CANDIDATES]
    )
    near = sorted((distance(unsigned(value), fp.value), str(pk)) for pk, value in candidates)
    close = [pk for d, pk in near[:MAX_DETAILS] if d <= CANDIDATE_DISTANCE]
    compared = len(candidates)
    if not close:
        return None, None, compared
    rows = (
        ImageCheck.objects.filter(image_id__in=close, name=NAME, version=VERSION)
        .filter(image__hospital_id=image.hospital_id)
        .exclude(image__md5=image.md5)
        .exclude(image__sha256=image.sha256)  # the same bytes (demo rows share pictures)
        .values_list("image_id", "values", "image__created_at")
    )
    best = None
    for pk, values, created_at in rows:
        if (created_at, str(pk)) >= (image.created_at, str(image.pk)):
            continue  # a later image links this one, not the other way round
        try:
            d = distance(int(values["detail"], 16), fp.detail)
        except (KeyError, TypeError, ValueError):
            continue
        if d <= TWIN_DISTANCE and (best is None or (d, created_at) < best[:2]):
            best = (d, created_at, pk)
    if best is None:
        return None, None, compared
    return best[2], best[0], compared


def run(subject: Subject) -> Result:
    fp = fingerprint(subject.rgb)
    if fp is None:
        PerceptualHash.objects.filter(image=subject.image).delete()
        return Result(
            Verdict.PASS,
            "Too little detail to compare with other images",
            values={"hash": None},
        )
    store(subject.image, fp)
    twin_id, d, compared = nearest_earlier(subject.image, fp)
    values = {**_values(fp), "candidates": compared}
    if twin_id is None:
        return Result(Verdict.PASS, values=values)
    values["distance"] = d
    # The twin by its opaque id only: it may be in a lab unit this image's viewers cannot see,
    # and its file name or subject would tell them about it.
    reason = (
        f"Looks like image {str(twin_id)[:8]} (distance {d}/256): "
        "a resized, re-encoded or cropped copy?"
    )
    return Result(Verdict.FLAG, reason, flagged=True, values=values, twin_id=twin_id)


register(Check(NAME, VERSION, "near-duplicate", run))
