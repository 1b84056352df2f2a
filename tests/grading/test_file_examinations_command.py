"""manage.py file_examinations: files every image that is in no examination yet (images stored
before examinations existed, or whose filing died with its process); safe to run again."""

import io

from django.core.management import call_command
from django.utils import timezone

from fundushub.grading import examinations
from fundushub.grading.models import Examination, ExaminationImage, Stage
from fundushub.store.models import GradingStatus
from tests.conftest import store_image


def run() -> str:
    out = io.StringIO()
    call_command("file_examinations", stdout=out)
    return out.getvalue().strip()


def test_it_files_every_unfiled_image_by_subject_and_day(world):
    right = store_image(world, 1, subject_identifier="S-1", area=world.right)
    left = store_image(world, 2, subject_identifier="S-1", area=world.left)
    lone = store_image(world, 3, subject_identifier="")
    assert run() == "Filed 3 image(s) into examinations."
    links = dict(ExaminationImage.objects.values_list("image_id", "examination_id"))
    assert links[right.pk] == links[left.pk] != links[lone.pk]
    exam = Examination.objects.get(pk=links[right.pk])
    assert exam.brought_by == world.alice  # the uploader: not the grader where that is the rule
    assert exam.visit_date == timezone.localdate(right.created_at)  # the day it arrived


def test_a_second_run_files_nothing_and_leaves_filed_images_where_they_are(world):
    store_image(world, 4, subject_identifier="S-4")
    run()
    before = list(ExaminationImage.objects.values_list("image_id", "examination_id"))
    assert run() == "Filed 0 image(s) into examinations."
    assert list(ExaminationImage.objects.values_list("image_id", "examination_id")) == before


def test_it_files_in_batches_until_none_is_left(world):
    for n in range(5):
        store_image(world, 10 + n, subject_identifier=f"S-{n}")
    assert examinations.file_unfiled(batch=2) == 5
    assert ExaminationImage.objects.count() == 5


def test_pre_graded_images_are_filed_into_decided_examinations(world):
    store_image(world, 20, subject_identifier="S-20", grading_status=GradingStatus.PRE_GRADED)
    run()
    assert Examination.objects.get().stage == Stage.DONE
