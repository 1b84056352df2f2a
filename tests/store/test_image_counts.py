"""Image counts (store.models: ImageCount, DatedImageCount's monthly and daily rows): the triggers
keep them equal to a fresh count of the images after every kind of write, on SQLite and
PostgreSQL."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.test import RequestFactory

from fundushub.grading.grades import record_grade
from fundushub.library import metadata
from fundushub.library.deletion import delete_images
from fundushub.store.models import COUNTED_BY, DatedImageCount, GradingStatus, Image, ImageCount
from tests.conftest import store_image

_n = 0


def fresh_counts() -> tuple[dict, dict, dict]:
    """(all days, per month, per day): the counts computed from the images themselves."""
    counts, monthly, daily = Counter(), Counter(), Counter()
    for row in Image.objects.values():
        key = tuple(row[k] or 0 for k in COUNTED_BY)
        day = row["created_at"].astimezone(UTC).date()
        counts[key] += 1
        monthly[(day.replace(day=1), *key)] += 1
        daily[(day, *key)] += 1
    return dict(counts), dict(monthly), dict(daily)


def kept_counts() -> tuple[dict, dict, dict]:
    dated = DatedImageCount.objects.values_list("start", *COUNTED_BY, "n")
    return tuple(
        {row[:-1]: row[-1] for row in rows}
        for rows in (
            ImageCount.objects.values_list(*COUNTED_BY, "n"),
            dated.filter(monthly=True),
            dated.filter(monthly=False),
        )
    )


def rows(world, when, count=1, **fields):
    """Bulk-created rows (no blobs), as the dashboard tests and seeding make them."""
    global _n
    made = []
    for _ in range(count):
        _n += 1
        values = {
            "uploaded_by": world.alice,
            "lab_unit": world.retina,
            "camera": world.topcon,
            "disease": world.dr,
            "area": world.left,
            **fields,
        }
        made.append(
            Image(
                created_at=when,
                hospital_id=values["lab_unit"].hospital_id,
                original_filename=f"count-{_n}.jpg",
                content_type="image/jpeg",
                size=1,
                width=1,
                height=1,
                md5=f"{_n:032x}",
                sha256=f"{_n:064x}",
                **values,
            )
        )
    field = Image._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        Image.objects.bulk_create(made)
    finally:
        field.auto_now_add = True
    return made


def request_by(user):
    request = RequestFactory().post("/direct/images/bulk", HTTP_USER_AGENT="pytest")
    request.user = user
    return request


def test_counts_follow_intake_bulk_inserts_edits_grades_deletions_and_cascades(world):
    midnight = datetime(2026, 3, 1, tzinfo=UTC)  # a new day and a new month
    stored = [store_image(world, seed) for seed in range(3)]
    store_image(world, 0)  # the same bytes again: no new row, no new count
    store_image(world, 5, lab_unit=world.outpatients, user=world.bob, camera=None, area=None)
    early = rows(world, midnight - timedelta(microseconds=1), 3, disease=None)
    late = rows(world, midnight, 4, lab_unit=world.screening, uploaded_by=None, source="camera")
    assert kept_counts() == fresh_counts()

    metadata.change_many(request_by(world.mary), [i.pk for i in late[:3]], {"area": world.right})
    metadata.change_many(request_by(world.mary), [early[0].pk], {"lab_unit": world.screening})
    record_grade(stored[0], "R1", "", world.gina)
    Image.objects.filter(pk=stored[1].pk).update(grading_status=GradingStatus.PRE_GRADED)
    Image.objects.filter(pk=early[1].pk).update(created_at=midnight + timedelta(days=3))
    Image.objects.filter(pk__in=[i.pk for i in late]).update(edited_sha256="e" * 64)
    assert kept_counts() == fresh_counts()

    delete_images(request_by(world.mary), [early[2].pk, late[3].pk, stored[2].pk])
    world.bob.delete()  # his upload stays, without an uploader
    assert kept_counts() == fresh_counts()
    assert Image.objects.filter(uploaded_by=None, source="direct").exists()


def test_counts_roll_back_with_the_transaction_that_moved_them(world):
    made = rows(world, datetime(2026, 5, 2, 12, tzinfo=UTC), 5)
    before = kept_counts()
    with pytest.raises(RuntimeError), transaction.atomic():
        Image.objects.filter(pk__in=[i.pk for i in made[:2]]).update(area=world.right)
        Image.objects.filter(pk=made[4].pk).delete()
        rows(world, datetime(2026, 5, 3, tzinfo=UTC), 2)
        raise RuntimeError
    assert kept_counts() == before == fresh_counts()


def test_a_count_that_reaches_zero_is_removed(world):
    (image,) = rows(world, datetime(2026, 6, 1, tzinfo=UTC))
    Image.objects.filter(pk=image.pk).update(disease=world.glaucoma)
    assert list(ImageCount.objects.values_list("disease_id", "n")) == [(world.glaucoma.pk, 1)]
    dated = DatedImageCount.objects.order_by("-monthly").values_list("monthly", "disease_id", "n")
    assert list(dated) == [(True, world.glaucoma.pk, 1), (False, world.glaucoma.pk, 1)]
    Image.objects.filter(pk=image.pk).delete()
    assert not ImageCount.objects.exists() and not DatedImageCount.objects.exists()


def test_one_statement_over_many_images_moves_each_count_once(world):
    made = rows(world, datetime(2026, 7, 1, tzinfo=UTC), 30)
    made += rows(world, datetime(2026, 7, 2, tzinfo=UTC), 20, camera=world.canon)
    Image.objects.filter(pk__in=[i.pk for i in made[::2]]).update(camera=None, area=world.right)
    assert kept_counts() == fresh_counts()
    assert [sum(counts.values()) for counts in kept_counts()] == [50, 50, 50]
    Image.objects.filter(pk__in=[i.pk for i in made[:40]]).delete()
    assert kept_counts() == fresh_counts()
