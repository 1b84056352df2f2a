"""The result letter: an examination's outcome in plain words for the patient and the clinic, and
what happens next."""

from dataclasses import dataclass

from fundushub.grading.models import Outcome

# Referral times the letter promises; NHS DESP's targets for urgent (R3), soon and routine.
REFERRAL_WEEKS = {Outcome.REFER_URGENT: 2, Outcome.REFER_SOON: 6, Outcome.REFER_ROUTINE: 13}


@dataclass(frozen=True)
class Wording:
    headline: str
    next_step: str


def wording(outcome: str) -> Wording:
    if outcome in (Outcome.RECALL_12, Outcome.RECALL_24):
        months = 12 if outcome == Outcome.RECALL_12 else 24
        return Wording(
            "Your eye screening found no changes that need treatment or a closer look.",
            f"We will invite you for screening again in {months} months. If your sight changes "
            "before then, please see your optician or doctor; do not wait for the invitation.",
        )
    if outcome in REFERRAL_WEEKS:
        weeks = REFERRAL_WEEKS[outcome]
        urgent = " This referral is urgent." if outcome == Outcome.REFER_URGENT else ""
        return Wording(
            "Your eye screening found changes that should be looked at by an eye specialist.",
            f"We are referring you to the eye clinic; they will contact you within {weeks} weeks."
            f"{urgent} If you have not heard from them by then, please call the clinic.",
        )
    if outcome == Outcome.REIMAGE:
        return Wording(
            "Your photographs could not be graded: they were not clear enough to be sure.",
            "This happens and is not a sign of disease. We will invite you to have them "
            "taken again.",
        )
    return Wording(
        "Your photographs were graded before they reached the screening service.",
        "The clinic that graded them will tell you the result and what happens next.",
    )
