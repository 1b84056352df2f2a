"""The printable result letter: the outcome in plain words and what happens next, the grades per
eye, the clinic's header and who signed; only for decided examinations; scoped."""

import pytest

from fundushub.grading import letters, workflow
from fundushub.grading.models import Examination, Outcome
from fundushub.store.models import GradingStatus
from tests.conftest import examination_of


def dr(right="R0", left="R0", m="M0"):
    return {"right": {"R": right, "M": m, "P": "P0"}, "left": {"R": left, "M": m, "P": "P0"}}


def decided(world, seed, values):
    exam = examination_of(world, seed)
    exam.programme.qa_sample_percent = 0
    exam.programme.second_referable = False
    exam.programme.save()
    workflow.record_grading(world.gina, exam, values)
    return Examination.objects.get(pk=exam.pk)


def letter(client, exam, status=200) -> str:
    response = client.get(f"/examinations/{exam.pk}/letter")
    assert response.status_code == status
    return response.content.decode()


def test_a_routine_recall_letter_says_when_the_next_invitation_comes(client, graders):
    exam = decided(graders, 1, dr())
    client.force_login(graders.alice)
    text = letter(client, exam)
    assert "We will invite you for screening again in 24 months." in text
    assert "St Lucia" in text and "Retina" in text and exam.programme.name in text
    assert "105-10-0989-3" in text and exam.visit_date.strftime("%-d %B %Y") in text
    assert "Routine recall in 24 months" in text


def test_a_referral_letter_says_the_eye_clinic_will_contact_them_and_when(client, graders):
    exam = decided(graders, 2, dr("R3a", "R1"))
    client.force_login(graders.alice)
    text = letter(client, exam)
    assert exam.outcome == Outcome.REFER_URGENT
    assert "We are referring you to the eye clinic; they will contact you within 2 weeks." in text
    assert "This referral is urgent." in text


def test_an_ungradable_letter_invites_them_to_have_photographs_taken_again(client, graders):
    exam = decided(graders, 3, dr("U", "R0"))
    client.force_login(graders.alice)
    text = letter(client, exam)
    assert exam.outcome == Outcome.REIMAGE
    assert "Your photographs could not be graded" in text
    assert "We will invite you to have them taken again." in text


def test_the_grades_of_each_eye_are_given_in_words(client, graders):
    exam = decided(graders, 4, dr("R1", "R0"))
    client.force_login(graders.alice)
    text = letter(client, exam)
    right = text[text.index(">Right eye<") : text.index(">Left eye<")]
    assert "Retinopathy</span> <strong>R1</strong> Background" in right
    assert "Retinopathy</span> <strong>R0</strong> None" in text[text.index(">Left eye<") :]


def test_it_is_signed_by_whoever_decided(client, graders):
    graders.gina.first_name, graders.gina.last_name = "Gina", "Grey"
    graders.gina.save()
    exam = decided(graders, 5, dr())
    client.force_login(graders.alice)
    assert '<p class="signature-name">Gina Grey</p>' in letter(client, exam)


def test_it_prints_on_a4_with_a_print_button_from_a_static_script(client, graders):
    exam = decided(graders, 6, dr())
    client.force_login(graders.alice)
    text = letter(client, exam)
    assert 'id="print-letter" hidden' in text  # shown by the script
    assert "fundushub/letter.js" in text and "fundushub/letter.css" in text
    assert "<script>" not in text


def test_a_pre_graded_examination_gets_a_letter_saying_who_tells_the_result(client, graders):
    exam = examination_of(graders, 7, grading_status=GradingStatus.PRE_GRADED)
    client.force_login(graders.alice)
    text = letter(client, exam)
    assert "The clinic that graded them will tell you the result" in text
    assert "Not graded by this service" in text


def test_an_undecided_examination_has_no_letter_and_says_so(client, graders):
    exam = examination_of(graders, 8)
    client.force_login(graders.alice)
    text = letter(client, exam)
    assert "There is no result letter yet" in text and "awaiting first grading" in text
    assert "print-letter" not in text and "letter.js" not in text


@pytest.mark.parametrize("outcome", [o for o in Outcome.values if o != Outcome.GRADED_ELSEWHERE])
def test_every_outcome_has_its_own_wording(outcome):
    assert letters.wording(outcome) != letters.wording(Outcome.GRADED_ELSEWHERE)


def test_another_lab_units_examination_is_404(client, graders, same_hospital_other_unit_user):
    exam = decided(graders, 9, dr())
    client.force_login(same_hospital_other_unit_user)
    letter(client, exam, status=404)


def test_anonymous_visitors_are_sent_to_sign_in(client, graders):
    exam = decided(graders, 10, dr())
    response = client.get(f"/examinations/{exam.pk}/letter")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
