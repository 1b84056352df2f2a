"""POST /direct/images/<id>/grade: graders record grades; every revision is kept and audited."""

import pytest
from django.db import IntegrityError

from fundushub.audit.models import AuditEvent
from fundushub.grading import grades
from fundushub.grading.models import Grade
from fundushub.store.models import GradingStatus, Image
from tests.conftest import store_image


def grade(client, image, code, notes=""):
    return client.post(f"/direct/images/{image.id}/grade", {"grade": code, "notes": notes})


def test_a_grader_records_a_grade_and_the_image_becomes_graded(client, world):
    image = store_image(world, 1)
    client.force_login(world.gina)
    response = grade(client, image, "R2", "  cotton wool spots  ")
    assert response.status_code == 302
    assert response["Location"] == f"/direct/images/{image.id}"
    g = Grade.objects.get(image=image)
    assert (g.revision, g.grade, g.notes, g.graded_by, g.disease) == (
        1,
        "R2",
        "cotton wool spots",
        world.gina,
        world.dr,
    )
    assert Image.objects.get(pk=image.pk).grading_status == GradingStatus.GRADED
    page = client.get(response["Location"]).content.decode()
    assert "Grade recorded: R2 – Moderate non-proliferative (revision 1)." in page


def test_revising_a_grade_adds_a_revision_and_keeps_the_earlier_one(client, world):
    image = store_image(world, 2)
    client.force_login(world.gina)
    grade(client, image, "R1", "first")
    grade(client, image, "R3", "second look")
    rows = list(
        Grade.objects.filter(image=image)
        .order_by("revision")
        .values_list("revision", "grade", "notes")
    )
    assert rows == [(1, "R1", "first"), (2, "R3", "second look")]


def test_each_grade_is_audited_with_revision_grade_and_previous_grade(client, world):
    image = store_image(world, 3)
    client.force_login(world.gina)
    grade(client, image, "R0")
    grade(client, image, "R4")
    first, second = AuditEvent.objects.filter(action="image.graded").order_by("id")
    assert (first.user, first.object_type, first.object_id) == (world.gina, "image", str(image.id))
    assert first.data["revision"] == 1 and first.data["previous_grade"] is None
    assert first.data["before"] == {"grading_status": "ungraded", "grade": None}
    assert second.data["revision"] == 2 and second.data["grade"] == "R4"
    assert second.data["previous_grade"] == "R0"
    assert second.data["before"] == {"grading_status": "graded", "grade": "R0"}
    assert second.data["after"] == {"grading_status": "graded", "grade": "R4"}
    assert first.ip == "127.0.0.1"


def test_a_pre_graded_image_can_be_graded(client, world):
    image = store_image(world, 4, grading_status=GradingStatus.PRE_GRADED)
    client.force_login(world.gina)
    grade(client, image, "U")
    assert Image.objects.get(pk=image.pk).grading_status == GradingStatus.GRADED
    event = AuditEvent.objects.get(action="image.graded")
    assert event.data["before"]["grading_status"] == "pre_graded"


@pytest.mark.parametrize("code", ["G1", "R9", "", "r1"])
def test_a_grade_outside_the_diseases_scale_is_refused_with_the_choices(client, world, code):
    image = store_image(world, 5)
    client.force_login(world.gina)
    response = grade(client, image, code, "keep my notes")
    assert response.status_code == 400
    text = response.content.decode()
    assert "Choose a grade from the DR scale: R0 (No diabetic retinopathy)" in text
    assert "keep my notes" in text  # what was typed is not lost
    assert not Grade.objects.exists()
    assert Image.objects.get(pk=image.pk).grading_status == GradingStatus.UNGRADED
    assert not AuditEvent.objects.filter(action="image.graded").exists()


def test_an_image_without_a_disease_is_graded_on_the_generic_scale(client, world):
    image = store_image(world, 6, disease=None)
    client.force_login(world.gina)
    assert grade(client, image, "R1").status_code == 400
    assert grade(client, image, "A").status_code == 302
    assert Grade.objects.get(image=image).label == "Abnormal"


def test_overlong_notes_are_refused(client, world):
    image = store_image(world, 7)
    client.force_login(world.gina)
    response = grade(client, image, "R1", "x" * 2001)
    assert response.status_code == 400
    assert "Notes are limited to 2000 characters (you wrote 2001)." in response.content.decode()


@pytest.mark.parametrize("who", ["alice", "mary"])
def test_non_graders_in_scope_are_refused_with_a_403(client, world, who):
    image = store_image(world, 8)
    client.force_login(getattr(world, who))
    assert grade(client, image, "R1").status_code == 403
    assert not Grade.objects.exists()


@pytest.mark.parametrize("who", ["bob", "root", "sam"])
@pytest.mark.usefixtures("same_hospital_other_unit_user")
def test_outside_your_scope_it_is_a_404(client, world, who):
    image = store_image(world, 9)
    client.force_login(getattr(world, who))
    assert grade(client, image, "R1").status_code == 404


def test_a_grader_outside_the_lab_unit_gets_a_404(client, world):
    image = store_image(world, 10, user=world.bob, lab_unit=world.outpatients)
    client.force_login(world.gina)
    assert grade(client, image, "R1").status_code == 404


def test_only_post_is_accepted(client, world):
    image = store_image(world, 11)
    client.force_login(world.gina)
    assert client.get(f"/direct/images/{image.id}/grade").status_code == 405


def test_anonymous_users_are_sent_to_sign_in(client, world):
    image = store_image(world, 12)
    response = grade(client, image, "R1")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_form_needs_a_csrf_token(world):
    from django.test import Client

    image = store_image(world, 13)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.gina)
    assert grade(client, image, "R1").status_code == 403
    assert not Grade.objects.exists()


def test_a_race_for_the_same_revision_is_retried_with_the_next_number(world, monkeypatch):
    image = store_image(world, 14)
    grades.record_grade(image, "R0", "", world.gina)
    real = grades._next_revision
    calls = []

    def stale(img):
        calls.append(1)
        return 1 if len(calls) == 1 else real(img)  # the first try lost to a concurrent grader

    monkeypatch.setattr(grades, "_next_revision", stale)
    recorded = grades.record_grade(image, "R1", "", world.gina)
    assert recorded.revision == 2 and len(calls) == 2
    assert list(Grade.objects.filter(image=image).values_list("revision", flat=True)) == [2, 1]
    assert AuditEvent.objects.filter(action="image.graded").count() == 2


def test_a_race_that_never_settles_is_a_clear_409(client, world, monkeypatch):
    image = store_image(world, 15)

    def always_taken(*args):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(grades, "_add", always_taken)
    client.force_login(world.gina)
    response = grade(client, image, "R1")
    assert response.status_code == 409
    assert grades.BUSY in response.content.decode()
