"""Synthetic fundus images with plausible metadata, for demos and load tests.

Every seeded image is a real, decodable JPEG in the store (blob, thumbnail, row), spread over the
reference data with skewed frequencies (so top-3 breakdowns mean something) and over a span of
days (so date filters and deep pages have something to find). Images come as visits, as a
screening camera takes them: one subject's right and left eye a minute apart (an odd last image
is a right eye alone), so each visit files into one examination with both eyes. By default each
image has bytes of its own. With `pictures`, the rows share that many generated pictures — demo
and load-test data, made for size: no picture is drawn or written per row, each row's md5 (the
per-hospital duplicate key) is unique to the row rather than the digest of its bytes (its sha256
still names them), rows are dated oldest first as real ones arrive, and go in by large batches
(COPY on PostgreSQL).
"""

import contextlib
import functools
import hashlib
import io
import itertools
import math
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter

from fundushub.accounts.models import User
from fundushub.catalog.models import Area, Camera, Disease, LabUnit
from fundushub.grading import scales
from fundushub.grading.models import Grade
from fundushub.store import blobs
from fundushub.store.models import GradingStatus, Image
from fundushub.store.sniff import JPEG

BASES = 6  # distinct retinas per eye; each image adds its own lesions to one of them


class NoReferenceData(Exception):
    pass


@dataclass(frozen=True)
class Choices:
    lab_units: list
    cameras: list
    diseases: list
    areas: list
    uploaders: dict  # lab unit id -> users assigned there

    @property
    def eyes(self) -> dict:
        return {a.code: a for a in self.areas if a.code in ("left", "right")}


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
    # Only people who may upload bring direct uploads: a grader never grades their own.
    may_upload = Q(groups__permissions__codename="add_uploadjob") | Q(is_superuser=True)
    people = User.objects.filter(may_upload, lab_units__isnull=False, camera_device__isnull=True)
    for user in people.distinct():
        for unit_id in user.lab_units.values_list("pk", flat=True):
            uploaders.setdefault(unit_id, []).append(user)
    return Choices(lab_units, list(Camera.objects.all()), diseases, areas, uploaders)


def _skewed(rng: random.Random, items: list):
    """Pick with Zipf-like weights: the first items are much more common than the last."""
    return rng.choices(items, cum_weights=_cumulative_weights(len(items)))[0]


@functools.cache
def _cumulative_weights(n: int) -> list[float]:
    return list(itertools.accumulate(1 / (i + 1) ** 1.2 for i in range(n)))


def _retina(rng: random.Random, size: tuple[int, int], side: int) -> PILImage.Image:
    """A fundus-like picture: a vignetted orange-red field on black, optic disc, vessels. The disc
    is on the right for a right eye (side 1), on the left for a left eye (side -1)."""
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


STATUSES = [GradingStatus.UNGRADED, GradingStatus.PRE_GRADED, GradingStatus.GRADED]


EYES = ("right", "left")


def _visit(rng, choices: Choices, created_at, eyes) -> list[dict]:
    """One subject's visit: a row per eye, the columns but the file's own (by attname:
    lab_unit_id, not lab_unit). The eyes share everything but their area, id and time."""
    unit = _skewed(rng, choices.lab_units)
    camera_source = rng.random() < 0.3
    users = choices.uploaders.get(unit.pk, [])
    shared = {
        "source": Image.Source.CAMERA if camera_source else Image.Source.DIRECT,
        "uploaded_by_id": None if camera_source or not users else rng.choice(users).pk,
        "hospital_id": unit.hospital_id,
        "lab_unit_id": unit.pk,
        "camera_id": _skewed(rng, choices.cameras).pk if choices.cameras else None,
        "disease_id": _skewed(rng, choices.diseases).pk,
        "mydriatic": rng.random() < 0.3,
        "subject_identifier": f"SIM-{rng.randint(1, 999_999):06d}",
        "grading_status": rng.choices(STATUSES, [75, 10, 15])[0],
    }
    rows = []
    for n, eye in enumerate(eyes):
        # The second eye a minute later, but on the visit's day: the eyes file together.
        taken = created_at + timedelta(seconds=60 * n)
        if timezone.localdate(taken) != timezone.localdate(created_at):
            taken = created_at
        rows.append(
            {
                **shared,
                "id": uuid.uuid4(),  # not from rng: a re-run with the same seed adds new rows
                "created_at": taken,
                "area_id": choices.eyes[eye].pk if eye in choices.eyes else None,
                "original_filename": f"IMG_{taken:%Y%m%d_%H%M%S}_{eye[0].upper()}.jpg",
            }
        )
    return rows


def _file(data: bytes, thumb: bytes, size) -> dict:
    """Store a picture and its thumbnail; a row's columns that describe the file."""
    sha256 = hashlib.sha256(data).hexdigest()
    blobs.write_bytes(blobs.original_key(sha256), data)
    blobs.write_bytes(blobs.thumbnail_key(sha256), thumb)
    return {
        "content_type": JPEG,
        "size": len(data),
        "width": size[0],
        "height": size[1],
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "sha256": sha256,
    }


def _grades(rng, row: dict, choices: Choices, graders: list, graded_at) -> list[dict]:
    """A graded row's grade revisions, as Grade columns."""
    disease = next(d for d in choices.diseases if d.pk == row["disease_id"])
    scale = [code for code, _ in scales.scale_for(disease)]
    return [
        {
            "image_id": row["id"],
            "revision": revision,
            "disease_id": disease.pk,
            "grade": rng.choice(scale),
            "graded_by_id": rng.choice(graders).pk if graders else None,
            "graded_at": graded_at,
        }
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
    pictures: int | None = None,
    progress=None,
) -> int:
    """Add n new synthetic images; returns n. Each gets a picture of its own (one that happens to
    exist already is replaced by another), or with pictures=K the rows share K generated
    pictures: demo and load-test data, see the module's docstring."""
    rng = random.Random(seed)
    choices = _choices()
    graders = list(User.objects.filter(groups__permissions__codename="grade_image").distinct())
    draw = _painter(rng, seed, size, quality)
    shared = _shared_pictures(draw, pictures, size) if pictures else None
    insert = _insert if not shared else _copy_in if connection.vendor == "postgresql" else _add_all
    now = timezone.now()
    added = 0
    while added < n:
        rows, grades = [], []
        while len(rows) < min(batch, n - added):
            if shared:  # oldest first, as real images arrive: tables and counts in time order
                age = 1 - (added + len(rows) + rng.random()) / n
            else:
                age = rng.random()
            # A batch ends with a whole visit (an odd last image is a right eye alone).
            eyes = EYES[: min(2, n - added - len(rows))]
            visit = _visit(rng, choices, now - timedelta(seconds=age * days * 86400), eyes)
            for eye, row in zip(eyes, visit, strict=True):
                if shared:  # each row's md5 is its own: nothing conflicts
                    row.update(rng.choice(shared[eye] or shared["any"]), md5=row["id"].hex)
                else:
                    row.update(_file(*draw(eye), size))
                rows.append(row)
                if row["grading_status"] == GradingStatus.GRADED:
                    grades += _grades(rng, row, choices, graders, now)
        added += insert(rows, grades)
        if progress:
            progress(added, n)
    return added


def _painter(rng, seed: int, size, quality: int):
    """draw(eye) -> (JPEG, thumbnail JPEG): a new picture on one of that eye's BASES retinas."""
    sides = {"right": 1, "left": -1}
    bases = {
        eye: [_retina(random.Random(seed * 1000 + side * 50 + i), size, side) for i in range(BASES)]
        for eye, side in sides.items()
    }
    thumb_bases = {eye: [_thumbnail_base(b) for b in eye_bases] for eye, eye_bases in bases.items()}

    def draw(eye):
        which = rng.randrange(len(bases[eye]))
        return _pictures(rng, bases[eye][which], thumb_bases[eye][which], quality)

    return draw


def _shared_pictures(draw, k: int, size) -> dict[str, list[dict]]:
    """k stored pictures, right and left eyes by turns; "any": all of them (with k=1 a left eye
    shares the right eye's picture)."""
    shared = {eye: [] for eye in EYES}
    for i in range(k):
        eye = EYES[i % 2]
        shared[eye].append(_file(*draw(eye), size))
    shared["any"] = shared["right"] + shared["left"]
    return shared


def _insert(rows: list[dict], grades: list[dict]) -> int:
    """One transaction per batch. The unique constraint decides duplicates (vanishingly rare):
    rows it refused are left out, with their grades and quota."""
    with transaction.atomic(), _keep_created_at():
        Image.objects.bulk_create([Image(**r) for r in rows], ignore_conflicts=True)
        ids = [r["id"] for r in rows]
        kept = set(Image.objects.filter(pk__in=ids).values_list("pk", flat=True))
        Grade.objects.bulk_create([Grade(**g) for g in grades if g["image_id"] in kept])
        _count_against_quota([r for r in rows if r["id"] in kept])
    return len(kept)


def _add_all(rows: list[dict], grades: list[dict]) -> int:
    """Shared pictures, not on PostgreSQL: rows whose md5s are their own cannot conflict."""
    with transaction.atomic(), _keep_created_at():
        Image.objects.bulk_create([Image(**r) for r in rows])
        Grade.objects.bulk_create([Grade(**g) for g in grades])
        _count_against_quota(rows)
    return len(rows)


def _copy_in(rows: list[dict], grades: list[dict]) -> int:
    """Shared pictures on PostgreSQL: the batch by COPY, the fastest way in, in one transaction."""
    with transaction.atomic():
        _copy(Image, rows)
        _copy(Grade, grades)
        _count_against_quota(rows)
    return len(rows)


def _copy(model, rows: list[dict]) -> None:
    """COPY rows (dicts by attname) into model's table; a column a row lacks gets its default,
    an auto primary key its sequence."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if f.attname in rows[0] or not f.primary_key]
    names = [f.attname for f in fields]
    defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[name] if name in row else defaults[name] for name in names])


def _count_against_quota(rows: list[dict]) -> None:
    """Seeded direct uploads count against their uploader's quota like real ones."""
    per_user = Counter(r["uploaded_by_id"] for r in rows if r["uploaded_by_id"])
    for user_id, count in per_user.items():
        User.objects.filter(pk=user_id).update(file_upload_count=F("file_upload_count") + count)
