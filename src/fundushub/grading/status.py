"""An examination's status as JSON, for other systems: where it stands, its outcome and why, its
gradings and images. Grades are given once the outcome is decided; while a blind second grading
is awaited, the first grading's outcome is withheld from whoever might give it."""

from django.urls import reverse

from fundushub.grading.examination_page import decider_of, eye_of, is_blind
from fundushub.grading.models import Stage
from fundushub.grading.outcomes import outcome_label
from fundushub.store.models import Image


def _outcome(code: str, rule: str, referable) -> dict | None:
    if not code:
        return None
    return {"code": code, "label": outcome_label(code), "rule": rule, "referable": referable}


def document(user, exam) -> dict:
    decided = exam.stage == Stage.DONE
    blind = is_blind(user, exam)
    decider = decider_of(exam)
    gradings = []
    for g in exam.gradings.select_related("grader").order_by("created_at", "pk"):
        entry = {
            "role": g.role,
            "revision": g.revision,
            "at": g.created_at.isoformat(),
            "grader": g.grader.get_username() if g.grader else None,
            "outcome": None if blind else g.outcome,
            "final": g.pk == exam.final_grading_id,
        }
        if decided:
            entry["values"] = g.values
        gradings.append(entry)
    images = Image.objects.filter(examination_link__examination=exam).select_related("area")
    urls = {"page": reverse("examination", args=[exam.pk])}
    if decided:
        urls["letter"] = reverse("examination-letter", args=[exam.pk])
    return {
        "id": str(exam.pk),
        "subject": exam.subject_identifier or None,
        "visit_date": exam.visit_date.isoformat(),
        "hospital": {"id": exam.hospital_id, "name": exam.hospital.name},
        "lab_unit": {"id": exam.lab_unit_id, "name": exam.lab_unit.name},
        "programme": exam.programme.name if exam.programme_id else None,
        "stage": exam.stage,
        "outcome": _outcome(exam.outcome, exam.outcome_rule, exam.referable),
        "decided_at": exam.decided_at.isoformat() if exam.decided_at else None,
        "decided_by": decider.get_username() if decider else None,
        "decided_reason": exam.decided_reason or None,
        "gradings": gradings,
        "images": [
            {"id": str(i.pk), "eye": eye_of(i) or None, "source": i.source}
            for i in images.order_by("created_at", "id")
        ],
        "urls": urls,
    }
