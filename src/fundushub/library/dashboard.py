"""The dashboard's filters: parsed and checked from the query string, applied to the user's scope.

Every filter is optional. A value that does not parse is reported by name and left out (the rest
still apply); it is never a 500. Hospitals and lab units offered are those of the user's assigned
lab units; a value naming another one is still applied, inside the user's scope, so it shows
nothing from a hospital the user cannot see.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import BigIntegerField, ExpressionWrapper, F, Q
from django.http import QueryDict
from django.utils import timezone

from fundushub.accounts.models import User
from fundushub.accounts.roles import sees_lab_unit_jobs
from fundushub.catalog.models import Area, Camera, Disease, LabUnit
from fundushub.checks.models import ImageCheck
from fundushub.store.models import GradingStatus, Image

NOT_SET = "none"  # camera/disease/area filter value for "not recorded"
GRADING = {"ungraded", "pre_graded", "graded"}
SOURCES = {c.value for c in Image.Source}
PER_PAGE = (24, 48, 96)
DEFAULT_PER_PAGE = 48
# Query parameters that select images (the export takes the same ones).
FILTERS = (
    "date_from",
    "date_to",
    "hospital",
    "lab_unit",
    "camera",
    "disease",
    "area",
    "uploader",
    "grading",
    "source",
    "check",
    "job",
)
# The checks at ingest the dashboard narrows to: images one of them flagged that no one has
# answered yet (the burned-in text review; the others are not answered, so all they flagged).
CHECK_FILTERS = {
    "burned_text": "Possible patient text, not yet reviewed",
    "gradability": "Ungradable at capture",
    "laterality": "Eye may be mislabelled",
    "near_duplicate": "Near-duplicate",
}
LABELS = {
    "date_from": "Date from",
    "date_to": "Date to",
    "hospital": "Hospital",
    "lab_unit": "Lab unit",
    "camera": "Camera",
    "disease": "Disease",
    "area": "Area",
    "uploader": "Uploader",
    "grading": "Pre-graded status",
    "source": "Source",
    "check": "Flagged at ingest",
    "job": "Upload job",
}


@dataclass
class Options:
    """What the filter form offers; also the per-request cache of reference names."""

    hospitals: list  # [{"id", "name", "lab_units": [{"id", "name"}]}]
    cameras: dict  # id -> name
    diseases: dict  # id -> (code, name)
    areas: dict  # id -> name
    uploaders: list  # [(id, username)], only for admins and data managers
    lab_units: dict = field(default_factory=dict)  # id -> (hospital id, name)


@dataclass
class Filters:
    values: dict  # parsed, only the ones that apply: name -> value
    raw: dict  # what was asked, for redisplaying the form
    errors: list  # messages about values left out
    per_page: int = DEFAULT_PER_PAGE
    show_edited: bool = False

    @property
    def active(self) -> bool:
        return bool(self.values)

    def querystring(self, **extra) -> str:
        """The filter part of the URL (plus `extra`), for links that keep the filters."""
        q = QueryDict(mutable=True)
        for name in FILTERS:
            if self.raw.get(name):
                q[name] = self.raw[name]
        if self.per_page != DEFAULT_PER_PAGE:
            q["per_page"] = str(self.per_page)
        if self.show_edited:
            q["show"] = "edited"
        for k, v in extra.items():
            if v is None:
                q.pop(k, None)
            else:
                q[k] = v
        return q.urlencode()


def options_for(user) -> Options:
    units = LabUnit.objects.filter(users=user).select_related("hospital").order_by("name")
    hospitals: dict[int, dict] = {}
    lab_units = {}
    for unit in units:
        h = hospitals.setdefault(
            unit.hospital_id, {"id": unit.hospital_id, "name": unit.hospital.name, "lab_units": []}
        )
        h["lab_units"].append({"id": unit.pk, "name": unit.name})
        lab_units[unit.pk] = (unit.hospital_id, unit.name)
    uploaders = []
    if sees_lab_unit_jobs(user):
        uploaders = list(
            User.objects.filter(Q(lab_units__users=user) | Q(pk=user.pk))
            .distinct()
            .order_by("username")
            .values_list("pk", "username")
        )
    return Options(
        hospitals=sorted(hospitals.values(), key=lambda h: h["name"]),
        cameras=dict(Camera.objects.values_list("pk", "name")),
        diseases={
            pk: (code, name) for pk, code, name in Disease.objects.values_list("pk", "code", "name")
        },
        areas=dict(Area.objects.values_list("pk", "name")),
        uploaders=uploaders,
        lab_units=lab_units,
    )


def _date(raw: str) -> date:
    day = date.fromisoformat(raw)
    if not 1900 <= day.year <= 2999:  # far outside any upload, and keeps date + 1 day valid
        raise ValueError(raw)
    return day


def _id(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(raw)
    return value


def _id_or_not_set(raw: str):
    return None if raw == NOT_SET else _id(raw)


def _choice(allowed):
    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(raw)
        return raw

    return parse


PARSERS = {
    "date_from": _date,
    "date_to": _date,
    "hospital": _id,
    "lab_unit": _id,
    "camera": _id_or_not_set,
    "disease": _id_or_not_set,
    "area": _id_or_not_set,
    "uploader": _id,
    "grading": _choice(GRADING),
    "source": _choice(SOURCES),
    "check": _choice(CHECK_FILTERS),
    "job": uuid.UUID,
}
HOW = {
    "date_from": "enter a date as YYYY-MM-DD",
    "date_to": "enter a date as YYYY-MM-DD",
    "grading": "choose ungraded, pre-graded or graded",
    "source": "choose direct or camera",
    "job": "use the link on the upload's results page",
}


def without_empty(query) -> str | None:
    """The query string without its empty parameters, or None when it has none: a form
    submitted with blank fields is sent on to the clean address."""
    if all(value.strip() for value in query.values()):
        return None
    clean = QueryDict(mutable=True)
    for name, values in query.lists():
        kept = [v for v in values if v.strip()]
        if kept:
            clean.setlist(name, kept)
    return clean.urlencode()


def parse_filters(user, query) -> Filters:
    raw = {name: (query.get(name) or "").strip()[:100] for name in FILTERS}
    if raw["grading"] == "any":
        raw["grading"] = ""
    if raw["source"] == "any":
        raw["source"] = ""
    values, errors = {}, []
    for name, text in raw.items():
        if not text:
            continue
        if name == "uploader" and not sees_lab_unit_jobs(user):
            continue  # only admins and data managers filter by uploader; others see the same page
        try:
            values[name] = PARSERS[name](text)
        except ValueError:
            how = HOW.get(name, "choose one from the list")
            errors.append(f"{LABELS[name]}: “{text}” is not valid ({how}); it was ignored.")
    if "date_from" in values and "date_to" in values and values["date_from"] > values["date_to"]:
        errors.append("“Date from” is after “Date to”: no image can match; the dates were ignored.")
        del values["date_from"], values["date_to"]
    per_page = DEFAULT_PER_PAGE
    try:
        per_page = int(query.get("per_page") or DEFAULT_PER_PAGE)
        if per_page not in PER_PAGE:
            raise ValueError
    except ValueError:
        per_page = DEFAULT_PER_PAGE
    return Filters(values, raw, errors, per_page, query.get("show") == "edited")


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _plain(column: str):
    """On SQLite, the column as a value no single-column index serves (column + 0)."""
    if connection.vendor != "sqlite":
        return F(column)  # PostgreSQL keeps statistics and chooses well with the bare column
    return ExpressionWrapper(F(column) + 0, output_field=BigIntegerField())


def scoped_images(user):
    """The same rows as Image.objects.visible_to (tests hold them equal), written for the planner.

    Every foreign key has its own index, and SQLite without statistics believes each narrows a
    query to a few rows: it would union two index look-ups (lab unit, uploader) or take the
    disease index, then sort every matching row, which grows with the table. With scope and
    filters on plain values it walks the (created_at, id) covering index newest first and
    stops after one page (bench/RESULTS.md). The KPI cards read the image counts instead
    (library/kpis.py). PostgreSQL has statistics (autovacuum analyses) and gets the bare columns.
    """
    if not user.is_authenticated:
        return Image.objects.none()
    return Image.objects.alias(**{f"_{column}": _plain(column) for column in PLAIN}).filter(
        Q(_lab_unit_id__in=user.lab_units.values("pk")) | Q(_uploaded_by_id=user.pk)
    )


PLAIN = ("lab_unit_id", "uploaded_by_id", "hospital_id", "camera_id", "disease_id", "area_id")
COLUMNS = {
    "hospital": "hospital_id",
    "lab_unit": "lab_unit_id",
    "uploader": "uploaded_by_id",
    "camera": "camera_id",
    "disease": "disease_id",
    "area": "area_id",
}


def date_range(filters: Filters) -> tuple[datetime | None, datetime | None]:
    """[from, to) of the date filters as instants (None: that side is open). Inclusive: up to
    the start of the day after "date to", in the site's time zone."""
    v = filters.values
    lower = _start_of(v["date_from"]) if "date_from" in v else None
    upper = _start_of(v["date_to"] + timedelta(days=1)) if "date_to" in v else None
    return lower, upper


def filtered_images(user, filters: Filters, *, dates: bool = True):
    """The user's visible images narrowed by the filters (unordered); dates=False leaves the
    date filters to the caller."""
    images = scoped_images(user)
    v = filters.values
    lower, upper = date_range(filters) if dates else (None, None)
    if lower is not None:
        images = images.filter(created_at__gte=lower)
    if upper is not None:
        images = images.filter(created_at__lt=upper)
    for name, column in COLUMNS.items():
        if name in v:
            value = v[name]
            lookup = {f"_{column}__isnull": True} if value is None else {f"_{column}": value}
            images = images.filter(**lookup)
    if "grading" in v:
        images = images.filter(grading_status=GradingStatus(v["grading"]))
    if "source" in v:
        images = images.filter(source=v["source"])
    if "check" in v:
        # One subquery in the page's statement (the check_flags index), not a query of its own.
        flagged = ImageCheck.objects.filter(name=v["check"], flagged=True, reviewed_at__isnull=True)
        images = images.filter(pk__in=flagged.values("image_id"))
    if "job" in v:
        # A job's stored images and the ones its duplicates matched; still inside the scope.
        images = images.filter(pk__in=_job_images(v["job"]))
    return images


# Which images an upload job stored or matched: the uploads app answers from its AppConfig.ready()
# (the library may not import it); fn(job id) -> a queryset of image ids.
_job_images_of = None


def answer_job_images(fn) -> None:
    global _job_images_of
    _job_images_of = fn


def _job_images(job_id):
    return _job_images_of(job_id) if _job_images_of else Image.objects.none().values("pk")
