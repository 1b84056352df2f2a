"""Synthetic fundus images with plausible metadata, for demos and load tests.

Every seeded image is a real, decodable JPEG in the store (blob, thumbnail, row), distinct in its
bytes, spread over the reference data with skewed frequencies (so top-3 breakdowns mean
something) and over a span of days (so date filters and deep pages have something to find).
"""

import contextlib
import hashlib
import io
import math
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter

from fundushub.accounts.models import User
from fundushub.catalog.models import Area, Camera, Disease, LabUnit
from fundushub.grading import scales as grading
from fundushub.grading.models import Grade
from fundushub.store import blobs
from fundushub.store.models import GradingStatus, Image
from fundushub.store.sniff import JPEG

BASES = 12  # distinct retinas; each image adds its own lesions to one of them


class NoReferenceData(Exception):
    pass


@dataclass(frozen=True)
class Choices:
    lab_units: list
    cameras: list
    diseases: list
    areas: list
    uploaders: dict  # lab unit id -> users assigned there


def _choices() -> Choices:
    lab_units = list(LabUnit.objects.all())
    diseases = list(Disease.objects.all())
    areas = list(Area.objects.all())
    if not (lab_units and diseases and areas):
        raise NoReferenceData(
            "There are no lab units, diseases or areas yet: run "
            "'fundushub manage load_reference_data --demo' (or add hospitals in the admin) first."
        )
    uploaders = {}
    for user in User.objects.filter(lab_units__isnull=False, camera_device__isnull=True).distinct():
        for unit_id in user.lab_units.values_list("pk", flat=True):
            uploaders.setdefault(unit_id, []).append(user)
    return Choices(lab_units, list(Camera.objects.all()), diseases, areas, uploaders)


def _skewed(rng: random.Random, items: list):
    """Pick with Zipf-like weights: the first items are much more common than the last."""
    weights = [1 / (i + 1) ** 1.2 for i in range(len(items))]
    return rng.choices(items, weights)[0]


def _retina(rng: random.Random, size: tuple[int, int]) -> PILImage.Image:
    """A fundus-like picture: a vignetted orange-red field on black, optic disc, vessels."""
    w, h = size
    r = min(w, h) * 0.48
    cx, cy = w / 2, h / 2
    base = (rng.randint(160, 205), rng.randint(60, 90), rng.randint(20, 40))
    field = PILImage.new("RGB", size, base)
    # Darker towards the rim, as a real fundus photograph is.
    shade = PILImage.radial_gradient("L").resize((int(2 * r), int(2 * r)))
    rim = PILImage.new("L", size, 255)
    rim.paste(shade, (int(cx - r), int(cy - r)))
    field = PILImage.composite(
        PILImage.new("RGB", size, (60, 15, 5)), field, rim.point(lambda v: v * 0.55)
    )
    d = ImageDraw.Draw(field)
    side = rng.choice((-1, 1))
    disc = (cx + side * r * 0.45, cy + rng.uniform(-0.1, 0.1) * r)
    dr = r * 0.13
    for _ in range(9):  # vessels leave the disc and branch outwards
        angle = rng.uniform(0, 2 * math.pi)
        x, y, width = disc[0], disc[1], max(2, int(r * 0.025))
        for _ in range(6):
            angle += rng.uniform(-0.5, 0.5)
            nx, ny = x + math.cos(angle) * r * 0.16, y + math.sin(angle) * r * 0.16
            d.line((x, y, nx, ny), fill=(120, 25, 20), width=width)
            x, y, width = nx, ny, max(1, width - 1)
    d.ellipse((disc[0] - dr, disc[1] - dr, disc[0] + dr, disc[1] + dr), fill=(245, 205, 130))
    circle = PILImage.new("L", size, 0)
    ImageDraw.Draw(circle).ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    im = PILImage.composite(field, PILImage.new("RGB", size, (0, 0, 0)), circle)
    return im.filter(ImageFilter.GaussianBlur(1.2))


def _pictures(rng: random.Random, base, thumb_base, quality: int) -> tuple[bytes, bytes]:
    """The base retina with a few random lesions (which also makes the bytes unique), and its
    thumbnail: the same lesions drawn on the pre-scaled base, so no per-image decode or resize."""
    im, thumb = base.copy(), thumb_base.copy()
    scale = thumb.size[0] / im.size[0]
    full, small = ImageDraw.Draw(im), ImageDraw.Draw(thumb)
    w, h = im.size
    for _ in range(rng.randint(3, 12)):
        x, y, s = rng.uniform(w * 0.25, w * 0.75), rng.uniform(h * 0.2, h * 0.8), rng.uniform(1, 4)
        colour = rng.choice(((110, 10, 10), (250, 230, 150), (90, 20, 15)))
        full.ellipse((x - s, y - s, x + s, y + s), fill=colour)
        t = max(s * scale, 0.6)
        small.ellipse((x * scale - t, y * scale - t, x * scale + t, y * scale + t), fill=colour)
    return _jpeg(im, quality), _jpeg(thumb, 82)


def _jpeg(im, quality: int) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _thumbnail_base(im):
    thumb = im.copy()
    size = settings.FUNDUSHUB_THUMBNAIL_SIZE
    thumb.thumbnail((size, size), PILImage.Resampling.BILINEAR)
    return thumb


@contextlib.contextmanager
def _keep_created_at():
    # created_at is auto_now_add; seeded images need their own dates spread over the past.
    field = Image._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True


def _row(rng, choices: Choices, data: bytes, thumb: bytes, size, created_at) -> tuple[Image, str]:
    sha256 = hashlib.sha256(data).hexdigest()
    blobs.write_bytes(blobs.original_key(sha256), data)
    blobs.write_bytes(blobs.thumbnail_key(sha256), thumb)
    unit = _skewed(rng, choices.lab_units)
    camera_source = rng.random() < 0.3
    areas = [a for a in choices.areas if a.code in ("left", "right")] if camera_source else []
    area = rng.choice(areas) if areas else _skewed(rng, choices.areas)
    users = choices.uploaders.get(unit.pk, [])
    status = rng.choices(
        [GradingStatus.UNGRADED, GradingStatus.PRE_GRADED, GradingStatus.GRADED], [75, 10, 15]
    )[0]
    image = Image(
        id=uuid.uuid4(),  # not from rng: a re-run with the same seed adds new rows
        source=Image.Source.CAMERA if camera_source else Image.Source.DIRECT,
        created_at=created_at,
        uploaded_by=None if camera_source or not users else rng.choice(users),
        hospital_id=unit.hospital_id,
        lab_unit=unit,
        camera=_skewed(rng, choices.cameras) if choices.cameras else None,
        disease=_skewed(rng, choices.diseases),
        area=area,
        mydriatic=rng.random() < 0.3,
        subject_identifier=f"SIM-{rng.randint(1, 9999):04d}" if camera_source else "",
        original_filename=f"IMG_{created_at:%Y%m%d_%H%M%S}_{rng.randint(0, 999):03d}.jpg",
        content_type=JPEG,
        size=len(data),
        width=size[0],
        height=size[1],
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha256=sha256,
        grading_status=status,
    )
    return image, status


def _grades(rng, image: Image, graders: list) -> list[Grade]:
    scale = [code for code, _ in grading.scale_for(image.disease)]
    return [
        Grade(
            image=image,
            revision=revision,
            disease=image.disease,
            grade=rng.choice(scale),
            graded_by=rng.choice(graders) if graders else None,
        )
        for revision in range(1, rng.choice((1, 1, 1, 2, 3)) + 1)
    ]


def seed_images(
    n: int,
    *,
    seed: int = 1,
    size: tuple[int, int] = (768, 576),
    days: int = 365,
    quality: int = 85,
    batch: int = 500,
    progress=None,
) -> int:
    """Add n new synthetic images (a picture that happens to exist already is replaced by
    another); returns n."""
    rng = random.Random(seed)
    choices = _choices()
    graders = list(User.objects.filter(groups__permissions__codename="grade_image").distinct())
    bases = [_retina(random.Random(seed * 1000 + i), size) for i in range(BASES)]
    thumb_bases = [_thumbnail_base(b) for b in bases]
    now = timezone.now()
    added = 0
    while added < n:
        rows, grades = [], []
        for _ in range(min(batch, n - added)):
            which = rng.randrange(BASES)
            data, thumb = _pictures(rng, bases[which], thumb_bases[which], quality)
            created_at = now - timedelta(seconds=rng.uniform(0, days * 86400))
            image, status = _row(rng, choices, data, thumb, size, created_at)
            rows.append(image)
            if status == GradingStatus.GRADED:
                grades += _grades(rng, image, graders)
        added += _insert(rows, grades)
        if progress:
            progress(added, n)
    return added


def _insert(rows: list[Image], grades: list[Grade]) -> int:
    """One transaction per batch. The unique constraint decides duplicates (vanishingly rare):
    rows it refused are left out, with their grades and quota."""
    with transaction.atomic(), _keep_created_at():
        Image.objects.bulk_create(rows, ignore_conflicts=True)
        kept = set(Image.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True))
        Grade.objects.bulk_create([g for g in grades if g.image.pk in kept])
        # Seeded direct uploads count against their uploader's quota like real ones.
        per_user = Counter(r.uploaded_by_id for r in rows if r.uploaded_by_id and r.pk in kept)
        for user_id, count in per_user.items():
            User.objects.filter(pk=user_id).update(file_upload_count=F("file_upload_count") + count)
    return len(kept)
