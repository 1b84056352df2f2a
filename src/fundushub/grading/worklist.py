"""The worklist: the examinations waiting for a grader (workflow.waiting_for), filtered, counted
per stage and paged by key.

Pages are keyset pages over (waiting_since, id), oldest first, never OFFSET: the hundredth page
costs what the first does. A cursor is opaque to users: urlsafe base64 of
"<ISO waiting_since>|<uuid hex>", the key of the row a page starts after (later pages) or before
(earlier pages). Every page costs the same few queries, whatever its number of rows.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count
from django.http import QueryDict
from django.utils import timezone

from fundushub.catalog.models import LabUnit
from fundushub.grading import workflow
from fundushub.grading.models import Examination, ExaminationImage, Programme, Stage
from fundushub.lib.cursor import InvalidCursor, decode, encode  # noqa: F401  (this module's cursors)

PER_PAGE = 25
# The stage filter's words (as graders say them) and the stages they mean.
STAGES = {"first": Stage.PRIMARY, "second": Stage.SECONDARY, "arbitration": Stage.ARBITRATION}
STAGE_WORDS = {stage: word for word, stage in STAGES.items()}
STAGE_LABELS = {"first": "First grading", "second": "Second grading", "arbitration": "Arbitration"}
FILTERS = ("stage", "lab_unit", "programme", "date_from", "date_to", "subject")
LABELS = {
    "stage": "Stage",
    "lab_unit": "Lab unit",
    "programme": "Programme",
    "date_from": "Visit from",
    "date_to": "Visit to",
    "subject": "Subject",
}


@dataclass
class Filters:
    values: dict  # parsed, only those that apply
    raw: dict  # as typed, for the form
    errors: list = field(default_factory=list)

    def querystring(self, **extra) -> str:
        q = QueryDict(mutable=True)
        for name in FILTERS:
            if self.raw.get(name):
                q[name] = self.raw[name]
        for name, value in extra.items():  # an empty value removes the parameter
            if value:
                q[name] = value
            else:
                q.pop(name, None)
        return q.urlencode()


def _date(raw: str) -> date:
    day = date.fromisoformat(raw)
    if not 1900 <= day.year <= 2999:
        raise ValueError(raw)
    return day


def _id(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(raw)
    return value


def _stage(raw: str) -> str:
    return STAGES[raw]


PARSERS = {
    "stage": _stage,
    "lab_unit": _id,
    "programme": _id,
    "date_from": _date,
    "date_to": _date,
    "subject": str,
}
HOW = {
    "stage": "choose first, second or arbitration",
    "date_from": "enter a date as YYYY-MM-DD",
    "date_to": "enter a date as YYYY-MM-DD",
}


def parse_filters(query) -> Filters:
    """Each filter is optional; a value that does not parse is named and left out (never a 500)."""
    raw = {name: (query.get(name) or "").strip()[:50] for name in FILTERS}
    values, errors = {}, []
    for name, text in raw.items():
        if not text:
            continue
        try:
            values[name] = PARSERS[name](text)
        except (ValueError, KeyError):
            how = HOW.get(name, "choose one from the list")
            errors.append(f"{LABELS[name]} “{text}” was left out: {how}.")
    return Filters(values, raw, errors)


def _stages(user) -> list[str]:
    stages = [Stage.PRIMARY, Stage.SECONDARY]
    if workflow.may_arbitrate(user):
        stages.append(Stage.ARBITRATION)
    return stages


def _filtered(user, values: dict, with_stage=True):
    exams = workflow.waiting_for(user)
    # waiting_for says which stages in ORs; a plain IN as well lets the database read only the
    # waiting rows from the (lab_unit, stage, waiting_since, id) index, not every examination.
    if with_stage and "stage" in values:
        exams = exams.filter(stage=values["stage"])
    else:
        exams = exams.filter(stage__in=_stages(user))
    if "lab_unit" in values:
        exams = exams.filter(lab_unit_id=values["lab_unit"])
    if "programme" in values:
        exams = exams.filter(programme_id=values["programme"])
    if "date_from" in values:
        exams = exams.filter(visit_date__gte=values["date_from"])
    if "date_to" in values:
        exams = exams.filter(visit_date__lte=values["date_to"])
    if "subject" in values:
        exams = exams.filter(subject_identifier__icontains=values["subject"])
    return exams


def waiting(user, filters: Filters):
    """The examinations waiting for this grader that match the filters, longest-waiting first."""
    return _filtered(user, filters.values)


def counts(user, filters: Filters) -> dict:
    """How many wait at each stage (the other filters applied), in one query."""
    rows = _filtered(user, filters.values, with_stage=False).order_by().values("stage")
    found = {row["stage"]: row["n"] for row in rows.annotate(n=Count("id"))}
    return {STAGE_WORDS[s]: found.get(s, 0) for s in _stages(user)}


def options_for(user) -> dict:
    units = LabUnit.objects.filter(users=user).select_related("hospital")
    return {
        "lab_units": [(u.pk, f"{u.hospital.name} – {u.name}") for u in units],
        "programmes": list(Programme.objects.values_list("pk", "name")),
    }


# Keyset pages -------------------------------------------------------------------------------


@dataclass
class Page:
    rows: list
    earlier: str | None  # cursor of the page before (None: this is the first page)
    later: str | None  # cursor of the page after (None: this is the last page)


def _after(exams, key):
    moment, pk = key
    # "waiting_since >= t" lets the database range-scan the worklist index from the cursor.
    return exams.filter(waiting_since__gte=moment).exclude(waiting_since=moment, id__lte=pk)


def _before(exams, key):
    moment, pk = key
    return exams.filter(waiting_since__lte=moment).exclude(waiting_since=moment, id__gte=pk)


def page(exams, per_page: int, *, after=None, before=None) -> Page:
    """The first page, the one after the key `after`, or the one before `before`; a page before
    that would come out short is the first page."""
    if before is not None:
        rows = list(_before(exams, before).order_by("-waiting_since", "-id")[: per_page + 1])
        if len(rows) > per_page:
            rows = rows[:per_page][::-1]
            return Page(rows, _key(rows[0]), _key(rows[-1]))
        return page(exams, per_page)
    query = exams.order_by("waiting_since", "id")
    if after is not None:
        query = _after(query, after)
    rows = list(query[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    earlier = _key(rows[0]) if after is not None and rows else None
    return Page(rows, earlier, _key(rows[-1]) if more else None)


def _key(exam) -> str:
    return encode(exam.waiting_since, exam.pk)


def page_for(user, filters: Filters, query) -> tuple[Page, str]:
    """The page the query's cursor asks for, with rows ready to show; a cursor that does not
    decode gives the first page and a message."""
    exams = waiting(user, filters).select_related("lab_unit", "programme")
    message = ""
    try:
        after = decode(query["after"]) if query.get("after") else None
        before = decode(query["before"]) if query.get("before") else None
    except InvalidCursor:
        after = before = None
        message = "That page link was not valid; showing the first page."
    result = page(exams, PER_PAGE, after=after, before=before)
    describe(user, result.rows)
    return result, message


def describe(user, exams) -> None:
    """Give each row its image count per eye (one query for the page) and whether it is the
    user's own claim."""
    now = timezone.now()
    per_eye = {}
    links = (
        ExaminationImage.objects.filter(examination__in=[e.pk for e in exams])
        .values("examination", "image__area__code")
        .annotate(n=Count("image"))
    )
    for row in links:
        per_eye.setdefault(row["examination"], {})[row["image__area__code"] or ""] = row["n"]
    for exam in exams:
        eyes = per_eye.get(exam.pk, {})
        exam.right_images = eyes.get("right", 0)
        exam.left_images = eyes.get("left", 0)
        exam.other_images = sum(n for eye, n in eyes.items() if eye not in ("right", "left"))
        exam.stage_word = STAGE_WORDS.get(exam.stage, "")
        exam.stage_label = STAGE_LABELS.get(exam.stage_word, exam.get_stage_display())
        exam.yours = exam.claimed_by_id == user.pk and bool(
            exam.claim_until and exam.claim_until > now
        )


def next_for(user, filters: Filters | None = None, skip=None) -> Examination | None:
    """Claim the first examination waiting for this grader (within the filters); a few are tried,
    since another grader may take one between the query and the claim."""
    exams = waiting(user, filters or Filters({}, {}))
    if skip is not None:
        exams = exams.exclude(pk=skip)
    for exam in exams.select_related("programme")[:5]:
        if workflow.claim(user, exam):
            return exam
    return None
