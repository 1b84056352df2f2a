"""Filing images into examinations (grading/examinations.py): one subject's images of one visit,
from any source; the database decides under a race; pre-graded sets arrive decided; staff moves."""

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fundushub.audit.models import AuditEvent
from fundushub.camera.models import CameraDevice, CameraFile, Subject
from fundushub.grading import examinations, workflow
from fundushub.grading.examinations import file_image, move_image
from fundushub.grading.models import (
    ExamGrading,
    Examination,
    ExaminationImage,
    Programme,
    Role,
    Stage,
)
from fundushub.store.models import GradingStatus, Image
from tests.camera.conftest import api, content_for, issue_token, resolve, upload
from tests.conftest import examination_of, form_data, fundus_jpeg, run_worker, store_image


def at(day: str, hour=10):
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(
        tzinfo=timezone.get_current_timezone()
    )


def exam_of(image) -> Examination:
    return ExaminationImage.objects.get(image=image).examination


# --- camera sessions --------------------------------------------------------------------------


@pytest.fixture
def cam(world):
    """A camera of Retina with its token, and a registered subject."""
    world.token = issue_token("RET-CAM-001", world.retina, "--camera", str(world.topcon.pk))
    world.device = CameraDevice.objects.get(device_id="RET-CAM-001")
    Subject.objects.create(subject_identifier="105-10-0989-3", site=world.st_lucia)
    return world


def test_a_camera_sessions_left_and_right_images_land_in_one_examination(cam):
    client = api(cam.token)
    assert resolve(client).status_code == 200
    for n, file_type in enumerate(("left", "right")):
        response = upload(client, file_type, content_for(file_type, n + 1))
        assert response.status_code in (200, 201), response.content
    assert run_worker() >= 2
    images = [f.image for f in CameraFile.objects.order_by("file_type")]
    assert all(images) and exam_of(images[0]) == exam_of(images[1])
    exam = exam_of(images[0])
    assert exam.subject_identifier == "105-10-0989-3"
    assert exam.visit_date == timezone.localdate(at("2026-11-21"))  # the capture's day (SENT_AT)
    assert (exam.hospital, exam.lab_unit) == (cam.st_lucia, cam.retina)
    assert exam.brought_by == cam.device.user  # the camera's own user: it grades nothing
    assert exam.stage == Stage.PRIMARY and exam.programme is not None
    assert sorted(
        i.area.code for i in Image.objects.filter(examination_link__examination=exam)
    ) == [
        "left",
        "right",
    ]


# --- direct uploads and any source ------------------------------------------------------------


def test_one_subjects_images_of_one_day_join_one_examination_and_another_day_another(world):
    first = store_image(world, 1, subject_identifier="S-1", area=world.right)
    second = store_image(world, 2, subject_identifier="S-1", area=world.left)
    next_day = store_image(world, 3, subject_identifier="S-1")
    a = file_image(first, taken_at=at("2026-11-02", 9))
    b = file_image(second, taken_at=at("2026-11-02", 17))
    c = file_image(next_day, taken_at=at("2026-11-03"))
    assert a == b != c
    assert (a.visit_date.isoformat(), c.visit_date.isoformat()) == ("2026-11-02", "2026-11-03")
    assert a.group_key == "visit:S-1:2026-11-02"


def test_an_image_is_filed_by_its_arrival_day_when_no_capture_time_is_given(world):
    image = store_image(world, 4, subject_identifier="S-4")
    assert file_image(image).visit_date == timezone.localdate(image.created_at)


def test_two_subjects_on_one_day_get_two_examinations(world):
    a = file_image(store_image(world, 5, subject_identifier="S-5"), taken_at=at("2026-11-02"))
    b = file_image(store_image(world, 6, subject_identifier="S-6"), taken_at=at("2026-11-02"))
    assert a != b


def test_the_same_subject_at_two_hospitals_gets_an_examination_at_each(world):
    ours = store_image(world, 7, subject_identifier="S-7")
    theirs = store_image(world, 8, subject_identifier="S-7", lab_unit=world.outpatients)
    assert file_image(ours, taken_at=at("2026-11-02")) != file_image(
        theirs, taken_at=at("2026-11-02")
    )


def test_an_image_with_no_subject_gets_an_examination_of_its_own(world):
    one = file_image(store_image(world, 9, subject_identifier=""), taken_at=at("2026-11-02"))
    two = file_image(store_image(world, 10, subject_identifier=""), taken_at=at("2026-11-02"))
    assert one != two and one.group_key.startswith("image:") and one.subject_identifier == ""


def test_direct_uploads_without_a_subject_file_one_examination_per_image(client, world):
    client.force_login(world.alice)
    files = [SimpleUploadedFile(f"f{n}.jpg", fundus_jpeg(40 + n), "image/jpeg") for n in (1, 2)]
    response = client.post("/direct/upload", {**form_data(world), "files": files})
    assert response.status_code in (200, 201, 302, 303), response.content[:300]
    run_worker()
    images = list(Image.objects.all())
    assert len(images) == 2
    exams = {exam_of(i) for i in images}
    assert len(exams) == 2
    assert {e.brought_by for e in exams} == {world.alice}


def test_filing_an_image_again_changes_nothing(world):
    image = store_image(world, 11, subject_identifier="S-11")
    exam = file_image(image, taken_at=at("2026-11-02"))
    assert file_image(image, taken_at=at("2026-12-24")) == exam
    assert Examination.objects.count() == 1 and ExaminationImage.objects.count() == 1


def test_a_programme_that_names_the_lab_unit_is_preferred(world):
    general = Programme.objects.get(scheme__code="DR", lab_units=None)
    ours = Programme.objects.create(name="Retina DR", scheme=general.scheme)
    ours.lab_units.add(world.retina)
    assert file_image(store_image(world, 12, subject_identifier="S-12")).programme == ours
    screening = store_image(world, 13, subject_identifier="S-13", lab_unit=world.screening)
    assert file_image(screening).programme == general


def test_two_images_of_one_visit_filed_at_the_same_moment_share_one_examination(world, monkeypatch):
    """The race: both look, find no examination, and insert; the unique (hospital, group_key)
    lets one insert win and the other files into the winner's examination."""
    mine = store_image(world, 14, subject_identifier="S-14", area=world.right)
    theirs = store_image(world, 15, subject_identifier="S-14", area=world.left)
    real_filter = Examination.objects.filter
    raced = []

    def racing_filter(*args, **kwargs):
        found = real_filter(*args, **kwargs)
        if "group_key" in kwargs and not raced:
            raced.append(True)
            file_image(theirs, taken_at=at("2026-11-02", 11))  # another worker, in between
            return found.none()  # what we saw before they inserted
        return found

    monkeypatch.setattr(Examination.objects, "filter", racing_filter)
    exam = file_image(mine, taken_at=at("2026-11-02", 10))
    assert raced and exam == exam_of(theirs) == exam_of(mine)
    assert Examination.objects.count() == 1


def test_a_pre_graded_set_arrives_in_a_decided_examination_graded_once(world):
    first = store_image(
        world, 16, subject_identifier="S-16", grading_status=GradingStatus.PRE_GRADED
    )
    second = store_image(
        world,
        17,
        subject_identifier="S-16",
        area=world.right,
        grading_status=GradingStatus.PRE_GRADED,
    )
    exam = file_image(first, taken_at=at("2026-11-02"), brought_by_id=world.mary.pk)
    assert file_image(second, taken_at=at("2026-11-02"), brought_by_id=world.mary.pk) == exam
    exam = Examination.objects.get(pk=exam.pk)
    assert (exam.stage, exam.outcome, exam.decided_by) == (
        Stage.DONE,
        "graded_elsewhere",
        world.mary,
    )
    assert exam.decided_reason == "Pre-graded before upload" and exam.decided_at
    assert list(ExamGrading.objects.values_list("role", flat=True)) == [Role.PRE_GRADED]
    assert exam not in workflow.waiting_for(world.gina)


# --- moving images --------------------------------------------------------------------------


def test_an_image_moves_to_another_examination_of_its_hospital_and_it_is_audited(world):
    exam = examination_of(world, 20)
    target = examination_of(world, 21, subject="S-21")
    image = exam.image_links.first().image
    assert move_image(image, target, world.mary) == target
    assert exam_of(image) == target
    event = AuditEvent.objects.get(action="examination.image_moved")
    assert event.data == {
        "before": {"examination": str(exam.pk)},
        "after": {"examination": str(target.pk)},
    }


def test_an_image_moves_to_a_new_examination_of_its_own(world):
    exam = examination_of(world, 22)
    image = exam.image_links.first().image
    new = move_image(image, None, world.mary)
    assert new != exam and new.group_key.startswith("manual:")
    assert (new.hospital, new.lab_unit, new.visit_date, new.programme) == (
        exam.hospital,
        exam.lab_unit,
        exam.visit_date,
        exam.programme,
    )


def test_an_image_does_not_move_to_another_hospital(world):
    exam = examination_of(world, 23)
    elsewhere = examination_of(world, 24, lab_unit=world.outpatients, user=world.bob)
    with pytest.raises(ValueError, match="own hospital"):
        move_image(exam.image_links.first().image, elsewhere, world.root)


def test_a_decided_examination_keeps_its_images_and_takes_no_more(graders):
    decided = examination_of(graders, 25)
    decided.programme.qa_sample_percent = 0
    decided.programme.save()
    values = {eye: {"R": "R0", "M": "M0", "P": "P0"} for eye in ("right", "left")}
    workflow.record_grading(graders.gina, decided, values)
    decided = Examination.objects.get(pk=decided.pk)
    open_one = examination_of(graders, 26, subject="S-26")
    with pytest.raises(ValueError, match="its images stay with it"):
        move_image(decided.image_links.first().image, open_one, graders.mary)
    with pytest.raises(ValueError, match="takes no more images"):
        move_image(open_one.image_links.first().image, decided, graders.mary)
    assert not AuditEvent.objects.filter(action="examination.image_moved").exists()


def test_a_moved_image_is_not_filed_back_by_a_later_filing(world):
    exam = examination_of(world, 27)
    image = exam.image_links.first().image
    new = move_image(image, None, world.mary)
    assert file_image(image) == new
    assert examinations.file_unfiled() == 0


def test_the_day_boundary_is_the_clinics_not_utc(world, settings):
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+13 in November
    late = store_image(world, 28, subject_identifier="S-28")
    exam = file_image(late, taken_at=datetime(2026, 11, 2, 20, 0, tzinfo=UTC))
    assert exam.visit_date.isoformat() == "2026-11-03"
