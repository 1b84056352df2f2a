"""What an examination's page shows: its images by eye, gradings, per-image grade revisions,
the camera's reports and its history, in a fixed number of queries whatever their number.

A second grading is blind: while an examination waits for it, the first grading's values and
outcome are hidden from everyone who might give it (all but senior graders, data managers and
admins), in the gradings table and in the history alike.
"""

from dataclasses import dataclass, field

from django.db.models import Q

from fundushub.accounts.roles import can_arbitrate, can_grade, sees_lab_unit_jobs
from fundushub.audit.models import AuditEvent
from fundushub.checks.summary import summaries_for
from fundushub.grading import workflow
from fundushub.grading.models import Examination, Grade, Role, Stage
from fundushub.grading.outcomes import EYES, field_order, form_of, in_order, outcome_label
from fundushub.grading.outcomes import summary as eye_summary
from fundushub.grading.reports import reports_for
from fundushub.store.models import Image
from fundushub.store.titles import add_capture_times

EYE_NAMES = {"right": "Right eye", "left": "Left eye"}
HISTORY_LIMIT = 200
MOVE_CANDIDATES = 50
ACTIONS = {
    "examination.graded": "Graded",
    "examination.disagreement": "Graders disagree: sent to arbitration",
    "examination.decided": "Outcome decided",
    "examination.image_moved": "Image moved",
    "examination.removed_empty": "Removed (no images left)",
}
HIDDEN = "hidden until the second grading is recorded"


def is_blind(user, exam: Examination) -> bool:
    """True while this user might be the one to give the examination's blind second grading."""
    if exam.stage != Stage.SECONDARY:
        return False
    return not (can_arbitrate(user) or sees_lab_unit_jobs(user) or user.is_superuser)


def eye_of(image: Image) -> str:
    code = image.area.code if image.area_id else ""
    return code if code in EYES else ""


def images_of(exam: Examination) -> list[Image]:
    """Right eye first, then left, then eye unknown; oldest first within each."""
    images = list(
        Image.objects.filter(examination_link__examination=exam)
        .select_related("area", "camera", "disease")
        .order_by("created_at", "id")
    )
    add_capture_times(images)
    order = {"right": 0, "left": 1, "": 2}
    for image in images:
        image.eye = eye_of(image)
        image.eye_name = EYE_NAMES.get(image.eye, "Eye unknown")
    return sorted(images, key=lambda i: order[i.eye])


@dataclass
class EyeValue:
    field: str
    code: str
    label: str


@dataclass
class GradingRow:
    grading: object
    eyes: dict = field(default_factory=dict)  # eye -> [EyeValue]; empty when hidden
    hidden: bool = False
    final: bool = False


def labelled(values: dict, form: list[dict]) -> dict:
    """{eye: [EyeValue]} in the order recorded (the scheme's), named from the scheme."""
    names = {f["code"]: f["name"] for f in form}
    labels = {(f["code"], v["code"]): v["label"] for f in form for v in f["values"]}
    return {
        eye: [
            EyeValue(names.get(code, code), value, labels.get((code, value), ""))
            for code, value in in_order(values.get(eye) or {}, names)
        ]
        for eye in EYES
    }


def grading_rows(exam: Examination, form: list[dict], blind: bool) -> list[GradingRow]:
    rows = []
    for grading in exam.gradings.select_related("grader").order_by("created_at", "pk"):
        rows.append(
            GradingRow(
                grading,
                eyes={} if blind else labelled(grading.values, form),
                hidden=blind,
                final=grading.pk == exam.final_grading_id,
            )
        )
    return rows


def grade_revisions(exam: Examination, images: list[Image]) -> list[Grade]:
    """Every per-image grade revision of the examination's images, newest first per image."""
    by_id = {image.pk: image for image in images}
    grades = list(
        Grade.objects.filter(image__examination_link__examination=exam)
        .select_related("graded_by", "disease")
        .order_by("image__created_at", "image_id", "-revision")
    )
    for grade in grades:
        grade.shown_image = by_id.get(grade.image_id)
    return grades


def history(exam: Examination, blind: bool, order=()) -> list[dict]:
    """The examination's audit events, and the moves of images into or out of it."""
    pk = str(exam.pk)
    moved = Q(action="examination.image_moved") & (
        Q(data__before__examination=pk) | Q(data__after__examination=pk)
    )
    events = (
        AuditEvent.objects.filter(Q(object_type="examination", object_id=pk) | moved)
        .select_related("user")
        .order_by("-at", "-id")[:HISTORY_LIMIT]
    )
    return [
        {
            "at": e.at,
            "user": e.user.get_username() if e.user else "system",
            "action": ACTIONS.get(e.action, e.action),
            "summary": HIDDEN if blind and e.action in _REVEALING else summary(e, pk, order),
        }
        for e in events
    ]


_REVEALING = {"examination.graded", "examination.decided", "examination.disagreement"}


def summary(event: AuditEvent, exam_pk: str, order=()) -> str:
    data = event.data or {}
    if event.action == "examination.graded":
        values = data.get("values") or {}
        eyes = "; ".join(
            f"{EYE_NAMES[eye].lower()} {eye_summary(values, eye, order)}"
            for eye in EYES
            if values.get(eye)
        )
        return f"{_role(data.get('role'))}: {eyes} → {_outcome(data.get('outcome'))}"
    if event.action == "examination.decided":
        text = _outcome(data.get("outcome"))
        if data.get("reason"):
            text += f" ({data['reason']})"
        return text
    if event.action == "examination.disagreement":
        return "; ".join(_difference(d) for d in data.get("found") or [] if isinstance(d, dict))
    if event.action == "examination.image_moved":
        before = (data.get("before") or {}).get("examination")
        direction = (
            "out to another examination" if before == exam_pk else "in from another examination"
        )
        return f"image {event.object_id[:8]}… {direction}"
    return ""


def _role(code) -> str:
    return Role(code).label if code in Role.values else str(code or "")


def _outcome(code) -> str:
    return outcome_label(code) or "—"


def _difference(d: dict) -> str:
    """One disagreement in words: "outcome: first grader X, second grader Y"."""
    if d.get("field") == "outcome":
        first, second, where = _outcome(d.get("first")), _outcome(d.get("second")), "outcome"
    else:
        first, second = d.get("first") or "—", d.get("second") or "—"
        where = f"{d.get('field')}" + (f", {d['eye']} eye" if d.get("eye") else "")
    return f"{where}: first grader {first}, second grader {second}"


def move_candidates(user, exam: Examination) -> list[Examination]:
    """Where staff may move one of its images: the same subject's other examinations, and the
    hospital's examinations of the same visit day, while their outcome is open."""
    same = Q(visit_date=exam.visit_date)
    if exam.subject_identifier:
        same |= Q(subject_identifier=exam.subject_identifier)
    return list(
        Examination.objects.visible_to(user)
        .filter(same, hospital_id=exam.hospital_id)
        .exclude(pk=exam.pk)
        .exclude(stage=Stage.DONE)
        .order_by("subject_identifier", "-visit_date", "created_at")[:MOVE_CANDIDATES]
    )


def decider_of(exam: Examination):
    """Who decided the outcome: the arbiter or reviser, else the grader of the final grading."""
    if exam.decided_by_id:
        return exam.decided_by
    return exam.final_grading.grader if exam.final_grading_id else None


def grading_action(user, exam: Examination) -> str:
    """The grading page's offer for this user: "Grade", "Revise", or "" (nothing to do there)."""
    if not can_grade(user) or not exam.programme_id:
        return ""
    if exam.stage == Stage.DONE:
        return "Revise the outcome" if can_arbitrate(user) else ""
    return "" if workflow.why_not(user, exam) else "Grade"


def page(user, exam: Examination, may_move: bool) -> dict:
    blind = is_blind(user, exam)
    form = form_of(exam.programme.scheme) if exam.programme_id else []
    images = images_of(exam)
    # What the checks at ingest found on each image, in one query whatever their number.
    found = summaries_for([i.pk for i in images], user)
    for image in images:
        image.check_summary = found.get(image.pk)
    by_eye = {eye: [i for i in images if i.eye == eye] for eye in EYES}
    return {
        "exam": exam,
        "blind": blind,
        "images": images,
        "pair": [(eye, EYE_NAMES[eye], by_eye[eye]) for eye in EYES],
        "gradings": grading_rows(exam, form, blind),
        "final": labelled(exam.final_grading.values, form) if exam.final_grading_id else {},
        "decider": decider_of(exam),
        "grades": grade_revisions(exam, images),
        "reports": reports_for(exam),
        "history": history(exam, blind, field_order(form)),
        "grading_action": grading_action(user, exam),
        "disagreement": [_difference(d) for d in exam.disagreement or [] if isinstance(d, dict)],
        "may_move": may_move and exam.stage != Stage.DONE,
        "candidates": move_candidates(user, exam) if may_move and exam.stage != Stage.DONE else [],
    }
