"""From per-eye grades to an outcome: check the values against the scheme, then apply the
programme's rules in order; the first that holds decides, and is named beside the outcome."""

from dataclasses import dataclass

from fundushub.grading.models import REFERABLE_OUTCOMES, Outcome, Programme, Scheme

EYES = ("right", "left")
EYE_NAMES = {"right": "right eye", "left": "left eye"}
MAX_NOTES = 2000
MAX_REASON = 500  # Examination.decided_reason's length


class InvalidGrading(ValueError):
    """The values do not fit the scheme; the message says what to fix."""


@dataclass(frozen=True)
class Decision:
    outcome: str
    rule: str
    referable: bool


def outcome_label(code) -> str:
    """An outcome code in words; a code this version does not know, as it is."""
    return Outcome(code).label if code in Outcome.values else str(code or "")


def form_of(scheme: Scheme) -> list[dict]:
    """The scheme's fields and values, in order, as the grading form and the checks use them."""
    fields = scheme.fields.prefetch_related("values")
    return [
        {
            "code": f.code,
            "name": f.name,
            "values": [
                {
                    "code": v.code,
                    "label": v.label,
                    "key": v.key,
                    "referable": v.referable,
                    "ungradable": v.ungradable,
                }
                for v in f.values.all()
            ],
        }
        for f in fields
    ]


def clean_values(form: list[dict], raw: dict) -> dict:
    """Every field of both eyes must hold one of its values; returns them in the form's order."""
    if not isinstance(raw, dict):
        raise InvalidGrading("Grades must be given per eye.")
    cleaned: dict[str, dict[str, str]] = {}
    missing = []
    for eye in EYES:
        given = raw.get(eye) or {}
        if not isinstance(given, dict):
            raise InvalidGrading(f"Grades for the {EYE_NAMES[eye]} must be given per field.")
        cleaned[eye] = {}
        for field in form:
            code = str(given.get(field["code"]) or "").strip()
            allowed = [v["code"] for v in field["values"]]
            if not code:
                missing.append(f"{field['name']} ({EYE_NAMES[eye]})")
            elif code not in allowed:
                raise InvalidGrading(
                    f"{code[:20]} is not a {field['name']} grade; choose one of {', '.join(allowed)}."
                )
            else:
                cleaned[eye][field["code"]] = code
    if missing:
        raise InvalidGrading("Grade every field: " + ", ".join(missing) + " still missing.")
    return cleaned


def decide(programme: Programme, values: dict) -> Decision:
    """The outcome of the first rule that holds (rules by position; one without a field always
    holds). With no rule holding the examination is recalled at 12 months, and says so."""
    for rule in programme.rules.all():
        if _holds(rule, values):
            return _decision(rule.outcome, rule.description)
    return _decision(Outcome.RECALL_12, "no rule held → routine recall in 12 months")


def _holds(rule, values: dict) -> bool:
    if not rule.field:
        return True
    wanted = set(rule.value_codes)
    hits = [values.get(eye, {}).get(rule.field) in wanted for eye in EYES]
    return all(hits) if rule.eyes == "both" else any(hits)


def _decision(outcome: str, rule: str) -> Decision:
    return Decision(outcome, rule, outcome in REFERABLE_OUTCOMES)


def differences(first: dict, second: dict, fields: list[str]) -> list[dict]:
    """The named fields in which two gradings' values differ, eye by eye."""
    found = []
    for field in fields:
        for eye in EYES:
            a = first.get(eye, {}).get(field)
            b = second.get(eye, {}).get(field)
            if a != b:
                found.append({"field": field, "eye": eye, "first": a, "second": b})
    return found


def in_order(given: dict, order) -> list[tuple[str, str]]:
    """One eye's (field, value) pairs in the scheme's field order: stored values cannot keep it
    (PostgreSQL's jsonb orders keys its own way). Fields the order does not know come last."""
    order = list(order)
    known = [(code, given[code]) for code in order if code in given]
    return known + [(code, value) for code, value in given.items() if code not in order]


def summary(values: dict, eye: str, order=()) -> str:
    """One eye's grade in a line, e.g. "R1 M0 P0" (order: the scheme's field codes)."""
    return " ".join(str(v) for _, v in in_order(values.get(eye) or {}, order) if v)


def field_order(form: list[dict]) -> list[str]:
    return [f["code"] for f in form]
