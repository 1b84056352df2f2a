import hashlib
import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image as PILImage

from fundushub.audit.models import AuditEvent
from fundushub.grading.models import Examination, Grade
from fundushub.store import blobs
from fundushub.store.models import GradingStatus, Image


def _seed(n, *args):
    out = io.StringIO()
    call_command("seed_images", str(n), *args, stdout=out)
    return out.getvalue()


def test_it_adds_n_real_distinct_images_with_thumbnails(world):
    output = _seed(40, "--size", "320x240")
    assert "Added 40 synthetic images" in output
    images = list(Image.objects.all())
    assert len(images) == 40
    assert len({(i.hospital_id, i.md5) for i in images}) == 40
    for image in images[:10]:
        with blobs.open_blob(image.original_key) as f:
            data = f.read()
        assert hashlib.sha256(data).hexdigest() == image.sha256
        assert hashlib.md5(data).hexdigest() == image.md5
        with PILImage.open(io.BytesIO(data)) as im:
            im.load()
            assert im.size == (image.width, image.height) == (320, 240)
        with blobs.open_blob(image.thumbnail_key) as f, PILImage.open(f) as thumb:
            assert max(thumb.size) <= 384


def test_it_spreads_images_over_the_reference_data_and_the_past(world):
    _seed(300, "--size", "96x72", "--days", "30")
    images = Image.objects.all()
    assert images.values("lab_unit").distinct().count() == 3
    assert images.values("camera").distinct().count() == 2
    assert images.values("disease").distinct().count() == 3
    assert {i.lab_unit.hospital_id == i.hospital_id for i in images} == {True}
    assert set(images.values_list("source", flat=True)) == {"direct", "camera"}
    assert set(images.values_list("grading_status", flat=True)) == set(GradingStatus.values)
    assert set(images.values_list("mydriatic", flat=True)) == {True, False}
    dates = sorted(images.values_list("created_at", flat=True))
    assert (dates[-1] - dates[0]).days >= 20
    camera = images.filter(source="camera")
    assert all(i.subject_identifier.startswith("SIM-") for i in camera)
    assert set(camera.values_list("area__code", flat=True)) <= {"left", "right"}


def test_graded_images_get_grades_from_their_disease_scale(world):
    from fundushub.grading.scales import scale_for

    _seed(200, "--size", "96x72")
    graded = Image.objects.filter(grading_status=GradingStatus.GRADED)
    assert graded.exists()
    for image in graded:
        grades = list(image.grades.order_by("revision"))
        assert [g.revision for g in grades] == list(range(1, len(grades) + 1))
        assert {g.grade for g in grades} <= {code for code, _ in scale_for(image.disease)}
    assert not Grade.objects.exclude(image__grading_status=GradingStatus.GRADED).exists()


def test_seeded_direct_uploads_count_against_their_uploaders_quota(world):
    _seed(100, "--size", "96x72")
    for user in (world.alice, world.mary, world.gina):
        user.refresh_from_db()
        assert user.file_upload_count == Image.objects.filter(uploaded_by=user).count()
    assert not Image.objects.filter(source="camera", uploaded_by__isnull=False).exists()


def test_graders_bring_no_direct_uploads(world):
    # A grader does not grade what they uploaded: seeded uploads come from those who upload.
    _seed(100, "--size", "96x72")
    assert Image.objects.filter(source="direct", uploaded_by__isnull=False).exists()
    assert not Image.objects.filter(uploaded_by=world.gina).exists()


def test_each_visit_is_one_subjects_right_and_left_eye_on_one_day(world):
    _seed(40, "--size", "96x72")
    visits = {}
    for image in Image.objects.select_related("area"):
        visits.setdefault(image.subject_identifier, []).append(image)
    assert len(visits) == 20
    for subject, (a, b) in visits.items():
        assert subject.startswith("SIM-")
        assert {a.area.code, b.area.code} == {"left", "right"}
        assert abs((a.created_at - b.created_at).total_seconds()) <= 60
        for column in ("lab_unit_id", "disease_id", "camera_id", "source", "grading_status"):
            assert getattr(a, column) == getattr(b, column)


def test_an_odd_last_image_is_a_right_eye_alone(world):
    _seed(5, "--size", "96x72")
    eyes = Counter(Image.objects.values_list("area__code", flat=True))
    assert eyes == {"right": 3, "left": 2}
    assert len(set(Image.objects.values_list("subject_identifier", flat=True))) == 3


def test_the_images_are_filed_into_one_examination_per_visit(world):
    output = _seed(20, "--size", "96x72")
    assert "Filed 20 image(s) into examinations." in output
    assert Examination.objects.count() == 10
    for exam in Examination.objects.all():
        images = Image.objects.filter(examination_link__examination=exam)
        assert sorted(images.values_list("area__code", flat=True)) == ["left", "right"]
        assert {i.subject_identifier for i in images} == {exam.subject_identifier}
        assert exam.visit_date == timezone.localdate(images[0].created_at)


def test_with_pictures_filing_is_left_to_file_examinations(world):
    output = _seed(10, "--size", "96x72", "--pictures", "2")
    assert "run file_examinations" in output
    assert not Examination.objects.exists()
    eyes = Counter(Image.objects.values_list("area__code", flat=True))
    assert eyes == {"right": 5, "left": 5}


def test_running_it_again_with_the_same_seed_still_adds_n_new_images(world):
    _seed(20, "--size", "96x72")
    assert "Added 20 synthetic images" in _seed(20, "--size", "96x72")
    images = Image.objects.all()
    assert images.count() == 40
    assert len({(i.hospital_id, i.md5) for i in images}) == 40


def test_it_is_audited(world):
    _seed(5, "--size", "96x72")
    event = AuditEvent.objects.get(action="images.seeded")
    assert event.data["count"] == 5


def test_with_pictures_the_rows_share_that_many_stored_pictures(world):
    assert "Added 120 synthetic images" in _seed(120, "--size", "96x72", "--pictures", "3")
    images = Image.objects.all()
    assert images.count() == 120
    assert len(set(images.values_list("sha256", flat=True))) == 3
    assert len({(i.hospital_id, i.md5) for i in images}) == 120
    for sha256 in set(images.values_list("sha256", flat=True)):
        with blobs.open_blob(blobs.original_key(sha256)) as f:
            assert hashlib.sha256(f.read()).hexdigest() == sha256
        assert blobs.exists(blobs.thumbnail_key(sha256))
    assert images.values("lab_unit").distinct().count() == 3
    assert set(images.values_list("source", flat=True)) == {"direct", "camera"}
    graded = images.filter(grading_status=GradingStatus.GRADED)
    assert graded.exists() and not graded.filter(grades__isnull=True).exists()
    assert not Grade.objects.exclude(image__grading_status=GradingStatus.GRADED).exists()
    world.alice.refresh_from_db()
    assert world.alice.file_upload_count == images.filter(uploaded_by=world.alice).count()


def test_with_pictures_the_image_counts_match_the_rows(world):
    from fundushub.store.models import DatedImageCount, ImageCount

    _seed(200, "--size", "96x72", "--pictures", "2", "--batch", "70")
    dated = DatedImageCount.objects.values_list("n", flat=True)
    assert sum(ImageCount.objects.values_list("n", flat=True)) == 200
    assert sum(dated.filter(monthly=True)) == sum(dated.filter(monthly=False)) == 200


@pytest.mark.parametrize(
    "args, message",
    [
        (["0"], "N must be at least 1"),
        (["5", "--pictures", "0"], "--pictures must be at least 1"),
        (["5", "--size", "big"], "--size must look like 768x576"),
        (["5", "--size", "10x10"], "between 64 and 4000"),
        (["5", "--days", "0"], "at least 1"),
    ],
)
def test_it_refuses_bad_arguments(world, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_images", *args)


def test_it_asks_for_reference_data_first(db):
    with pytest.raises(CommandError, match="load_reference_data"):
        call_command("seed_images", "5")


def test_it_can_run_again_with_the_same_seed_and_another_size(world):
    _seed(10, "--size", "96x72")
    assert "Added 10 synthetic images" in _seed(10, "--size", "128x96")
    assert Image.objects.count() == 20
