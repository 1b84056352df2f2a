"""The grading page's data: the scheme's form per eye (with what was chosen), the examination's
images by eye, the programme's rules for the live outcome preview, the two gradings an arbiter
compares, and what to tell the grader after a save."""

import json

from fundushub.grading.models import ExamGrading, Examination, Outcome, Role, Stage
from fundushub.grading.outcomes import EYES, form_of, outcome_label
from fundushub.store.models import Image

# As clinicians view a patient: the right eye on the left of the screen.
EYE_TITLES = {"right": "Right eye", "left": "Left eye"}
EYE_ABBR = {"right": "OD", "left": "OS"}
NO_RULE = "no rule held → routine recall in 12 months"


def posted_values(post, form: list[dict]) -> dict:
    """The values a grading form sent, as record_grading takes them: fields named "<eye>-<code>"."""
    return {
        eye: {f["code"]: (post.get(f"{eye}-{f['code']}") or "")[:20] for f in form} for eye in EYES
    }


def eyes_for(form: list[dict], chosen: dict, images: dict) -> list[dict]:
    """Each eye's column: its images and its fields, each value marked when chosen."""
    columns = []
    for eye in EYES:
        fields = []
        for f in form:
            picked = (chosen.get(eye) or {}).get(f["code"], "")
            keys = ", ".join(v["key"].upper() for v in f["values"])
            fields.append(
                {
                    "code": f["code"],
                    "name": f["name"],
                    "input": f"{eye}-{f['code']}",
                    "keys": keys,
                    "values": [{**v, "checked": v["code"] == picked} for v in f["values"]],
                }
            )
        columns.append(
            {
                "code": eye,
                "title": EYE_TITLES[eye],
                "abbr": EYE_ABBR[eye],
                "images": images.get(eye, []),
                "fields": fields,
            }
        )
    return columns


def images_by_eye(exam: Examination) -> dict:
    """{"right": [...], "left": [...], "other": [...]}, oldest first (one query)."""
    grouped = {"right": [], "left": [], "other": []}
    images = (
        Image.objects.filter(examination_link__examination=exam)
        .select_related("area")
        .order_by("created_at", "id")
    )
    for image in images:
        eye = image.area.code if image.area_id else ""
        grouped[eye if eye in ("right", "left") else "other"].append(image)
    return grouped


def rules_json(programme) -> str:
    """The programme's rules as the page's script applies them (the same order and logic as
    outcomes.decide), for the live preview; the server decides again on save."""
    rules = [
        {
            "field": r.field,
            "values": r.value_codes,
            "eyes": r.eyes,
            "outcome": r.outcome,
            "label": r.get_outcome_display(),
            "description": r.description,
        }
        for r in programme.rules.all()
    ]
    rules.append(
        {
            "field": "",
            "values": [],
            "eyes": "any",
            "outcome": Outcome.RECALL_12,
            "label": Outcome.RECALL_12.label,
            "description": NO_RULE,
        }
    )
    return json.dumps(rules)


def gradings_compared(exam: Examination, form: list[dict]) -> dict | None:
    """The first and second gradings an arbiter sees side by side, each differing cell marked."""
    gradings = {
        g.role: g
        for g in exam.gradings.filter(role__in=(Role.PRIMARY, Role.SECONDARY))
        .select_related("grader")
        .order_by("revision")
    }
    first, second = gradings.get(Role.PRIMARY), gradings.get(Role.SECONDARY)
    if first is None or second is None:
        return None
    rows = []
    for f in form:
        cells = []
        for eye in EYES:
            a = first.values.get(eye, {}).get(f["code"], "")
            b = second.values.get(eye, {}).get(f["code"], "")
            cells.append({"eye": eye, "first": a, "second": b, "differs": a != b})
        rows.append({"name": f["name"], "code": f["code"], "cells": cells})
    named = sorted({d.get("field") for d in exam.disagreement if d.get("field") != "outcome"})
    return {
        "first": first,
        "second": second,
        "rows": rows,
        "outcome_differs": first.outcome != second.outcome,
        "named_fields": named,
    }


def final_values(exam: Examination, form: list[dict]) -> list[dict]:
    """The decided grading's values as rows of (field, right, left)."""
    values = exam.final_grading.values if exam.final_grading_id else {}
    return [
        {
            "name": f["name"],
            "right": (values.get("right") or {}).get(f["code"], "—"),
            "left": (values.get("left") or {}).get(f["code"], "—"),
        }
        for f in form
    ]


def saved_message(exam: Examination, grading: ExamGrading) -> str:
    """What the grader is told after a save: the outcome and the rule that fired, or where the
    examination goes next. A second grader is not told the first grader's outcome on disagreement."""
    who = f"{exam.subject_identifier or 'Unknown subject'} ({exam.visit_date:%Y-%m-%d})"
    yours = f"{grading.get_outcome_display()} (rule: {grading.outcome_rule})"
    if exam.stage == Stage.DONE:
        outcome = outcome_label(exam.outcome)
        return f"{who}: outcome {outcome} (rule: {exam.outcome_rule})."
    if exam.stage == Stage.SECONDARY:
        return f"{who}: your grading gives {yours}. It goes to a second grader."
    if exam.stage == Stage.ARBITRATION:
        return f"{who}: your grading gives {yours}. The gradings disagree: it goes to arbitration."
    return f"{who}: your grading gives {yours}."


def form_for(exam: Examination) -> list[dict]:
    return form_of(exam.programme.scheme) if exam.programme_id else []
