"""CSV export of the dashboard's filtered set: every matching image, streamed in keyset chunks.

Chunks are separate short queries walking (-created_at, -id), so nothing holds a cursor open
while the client reads, and memory stays flat whatever the size. Cells that a spreadsheet would
run as a formula are prefixed with a quote.
"""

import csv
from datetime import UTC

from django.db.models import Count
from django.http import StreamingHttpResponse
from django.utils import timezone

from fundushub.audit.models import record
from fundushub.checks.models import ImageCheck
from fundushub.checks.summary import ORDER as CHECK_NAMES
from fundushub.grading.models import Grade
from fundushub.lib.spreadsheet import safe
from fundushub.library import dashboard, keyset
from fundushub.store.titles import capture_times, title_of

CHUNK = 2000
# (CSV column, the field it is read from; None: computed per chunk).
_TABLE = [
    ("id", "id"),
    ("created_at", "created_at"),
    ("source", "source"),
    ("hospital", "hospital__name"),
    ("lab_unit", "lab_unit__name"),
    ("camera", "camera__name"),
    ("disease", "disease__code"),
    ("area", "area__name"),
    ("mydriatic", "mydriatic"),
    ("subject_identifier", "subject_identifier"),
    ("original_filename", "original_filename"),
    ("title", None),  # as the pages name it (a camera image: subject · eye · day of capture)
    ("content_type", "content_type"),
    ("size", "size"),
    ("width", "width"),
    ("height", "height"),
    ("md5", "md5"),
    ("sha256", "sha256"),
    ("uploaded_by", "uploaded_by__username"),
    ("grading_status", "grading_status"),
    ("grade_revisions", None),
    ("edited", "edited_sha256"),
]
# What each check at ingest found: its verdict and reason (empty: not checked).
CHECK_COLUMNS = [f"{name}_{part}" for name in CHECK_NAMES for part in ("verdict", "reason")]
COLUMNS = [column for column, _ in _TABLE] + CHECK_COLUMNS
FIELDS = [field for _, field in _TABLE if field]
SOURCE = FIELDS.index("source")


class _Echo:
    def write(self, value):
        return value


def rows(images):
    """Yield the CSV lines (header first) for every image in `images`, newest first."""
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    after = None
    while True:
        query = images.order_by(*keyset.ORDER)
        if after is not None:
            query = keyset.older_than(query, after)
        chunk = list(query.values_list(*FIELDS)[:CHUNK])
        if not chunk:
            return
        revisions = dict(
            Grade.objects.filter(image_id__in=[r[0] for r in chunk])
            .values_list("image_id")
            .annotate(n=Count("*"))
            .order_by()
        )
        captured = capture_times([r[0] for r in chunk if r[SOURCE] == "camera"])
        checks = _checks([r[0] for r in chunk])
        for row in chunk:
            cells = _cells(row, revisions, captured) + checks.get(row[0], _NOT_CHECKED)
            yield writer.writerow([safe(v) for v in cells])
        after = (chunk[-1][1], chunk[-1][0])
        if len(chunk) < CHUNK:
            return


def _cells(row, revisions, captured):
    v = dict(zip(FIELDS, row, strict=True))
    pk = v["id"]
    computed = {
        "title": title_of(
            v["source"],
            v["original_filename"],
            v["subject_identifier"],
            v["area__name"],
            captured.get(pk) or v["created_at"],
        ),
        "grade_revisions": revisions.get(pk, 0),
    }
    cells = []
    for column, field in _TABLE:
        if field is None:
            cells.append(computed[column])
        elif column == "created_at":
            cells.append(v[field].astimezone(UTC).isoformat())
        elif column == "edited":
            cells.append(bool(v[field]))
        else:
            cells.append(v[field])
    cells[0] = str(pk)
    return cells


_NOT_CHECKED = [""] * len(CHECK_COLUMNS)


def _checks(image_ids) -> dict:
    """{image id: the check cells} for one chunk, in one query."""
    found: dict = {}
    results = ImageCheck.objects.filter(image_id__in=image_ids, name__in=CHECK_NAMES)
    for image_id, name, verdict, reason in results.values_list(
        "image_id", "name", "verdict", "reason"
    ).order_by():
        cells = found.setdefault(image_id, list(_NOT_CHECKED))
        at = 2 * CHECK_NAMES.index(name)
        cells[at : at + 2] = [verdict, reason]
    return found


def response(request, filters):
    images = dashboard.filtered_images(request.user, filters)
    count = images.count()
    record(
        "images.exported",
        request=request,
        filters={k: v for k, v in filters.raw.items() if v and k in filters.values},
        count=count,
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(images), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="fundus-images-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
