"""What the checks at ingest found, in plain sentences, for the pages where people look (the
processing page, the viewer, the examination page, the CSV export).

summaries_for() reads any number of images in one query, so a page that lists many images keeps a
fixed query count. An image with no result yet is "Checking…" while it is recent (its checks run
seconds after storing; standing.PATIENCE, as the camera API says "pending"), else "Not checked"
(run_checks back-fills it).
"""

from django.db.models import Exists, OuterRef
from django.utils import timezone

from fundushub.checks.models import ImageCheck, Verdict
from fundushub.checks.queue import checks_on
from fundushub.checks.registry import CHECKS
from fundushub.checks.standing import PATIENCE
from fundushub.store.models import Image

# The order pages show them in (the order they run), and their names for people.
ORDER = ("gradability", "laterality", "near_duplicate", "burned_text")
LABELS = {
    "gradability": "Gradability",
    "laterality": "Eye",
    "near_duplicate": "Near-duplicate",
    "burned_text": "Burned-in text",
}
CHECKING, DONE, NOT_CHECKED = "checking", "done", "not_checked"
STATE_TEXT = {CHECKING: "Checking…", NOT_CHECKED: "Not checked", DONE: ""}
RECAPTURE = "recapture while the patient is here"
# Badge tones: flag (look at it), note (worth knowing), error (the check could not say), ok.
FLAG, NOTE, ERROR, OK = "flag", "note", "error", "ok"


def label_of(name: str) -> str:
    if name in LABELS:
        return LABELS[name]
    check = CHECKS.get(name)
    return (check.label if check else name).replace("_", " ").capitalize()


def names() -> list[str]:
    """Every check a page or the export has a column for: the known ones, then any other
    registered (in registry order)."""
    return [*ORDER, *(name for name in CHECKS if name not in ORDER)]


def _sentence(reason: str) -> str:
    return reason[:1].upper() + reason[1:] if reason else ""


def describe(name, verdict, reason, flagged, reviewed) -> tuple[str, str]:
    """(the tone of its badge, a plain sentence) for one check's result."""
    if verdict == Verdict.ERROR:
        return ERROR, f"{label_of(name)}: not checked ({reason})" if reason else "Check failed"
    if name == "gradability":
        if verdict == Verdict.UNGRADABLE:
            return FLAG, f"{_sentence(reason) or 'Looks ungradable'} — {RECAPTURE}"
        if verdict == Verdict.USABLE:
            return NOTE, f"Usable: {reason}" if reason else "Usable"
        return OK, "Looks gradable"
    if name == "laterality":
        return (FLAG, "Eye may be mislabelled") if flagged else (OK, "Eye label: no mismatch found")
    if name == "near_duplicate":
        return (FLAG, "Looks like another image") if flagged else (OK, "No near-duplicate")
    if name == "burned_text":
        if flagged and not reviewed:
            return FLAG, "Possible patient text — not yet reviewed"
        if flagged:
            return NOTE, "Possible patient text — reviewed"
        return OK, "No burned-in text"
    if flagged:
        return FLAG, _sentence(reason) or f"{label_of(name)}: flagged for review"
    return OK, f"{label_of(name)}: no problem found"


_FIELDS = (
    "pk",
    "created_at",
    "checks__name",
    "checks__verdict",
    "checks__reason",
    "checks__flagged",
    "checks__twin_id",
    "checks__reviewed_at",
    "checks__version",
)


def summaries_for(image_ids, user=None) -> dict:
    """{image id: {"state", "text", "flagged", "clear", "notable", "checks": [check, …]}} in one
    query (notable: the checks whose badge is not "ok").

    Each check: name, label, verdict, reason, flagged, twin_id, reviewed, version, tone, text.
    twin_id is kept only when `user` may see the twin (None without a user): a page never
    links to an image its reader cannot open. Images that do not exist are left out.
    """
    image_ids = list(dict.fromkeys(image_ids))
    if not image_ids:
        return {}
    query = Image.objects.filter(pk__in=image_ids)
    fields = list(_FIELDS)
    if user is not None:
        visible = Image.objects.visible_to(user).filter(pk=OuterRef("checks__twin_id"))
        query = query.annotate(twin_visible=Exists(visible))
        fields.append("twin_visible")
    found: dict = {}
    created: dict = {}
    for row in query.values_list(*fields).order_by():
        v = dict(zip(fields, row, strict=True))
        created[v["pk"]] = v["created_at"]
        checks = found.setdefault(v["pk"], [])
        if v["checks__name"] is not None:
            checks.append(_check(v))
    order = {name: n for n, name in enumerate(names())}
    answer = {}
    for pk, checks in found.items():
        checks.sort(key=lambda c: (order.get(c["name"], len(order)), c["name"]))
        answer[pk] = _summary(_state(created[pk], {c["name"] for c in checks}), checks)
    return answer


def _state(created_at, found: set) -> str:
    """Checking while a recent image misses a result (its checks run seconds after storing);
    not checked when it has none and is old or checks are off; else done with what landed."""
    missing = not found or not set(CHECKS) <= found
    if missing and checks_on() and created_at >= timezone.now() - PATIENCE:
        return CHECKING
    return DONE if found else NOT_CHECKED


def _check(v: dict) -> dict:
    name, verdict, flagged = v["checks__name"], v["checks__verdict"], v["checks__flagged"]
    reviewed = v["checks__reviewed_at"] is not None
    tone, text = describe(name, verdict, v["checks__reason"], flagged, reviewed)
    twin = v["checks__twin_id"] if v.get("twin_visible") else None
    return {
        "name": name,
        "label": label_of(name),
        "verdict": verdict,
        "reason": v["checks__reason"],
        "flagged": flagged,
        "twin_id": twin,
        "reviewed": reviewed,
        "version": v["checks__version"],
        "tone": tone,
        "text": text,
    }


def _summary(state: str, checks: list) -> dict:
    notable = [c for c in checks if c["tone"] != OK]
    return {
        "state": state,
        "text": STATE_TEXT[state],
        "flagged": any(c["flagged"] for c in checks),
        # Nothing to look at: every check ran and found nothing (pages show one quiet badge).
        "clear": state == DONE and bool(checks) and not notable,
        "notable": notable,
        "checks": checks,
    }


def summary_of(image_id, user=None) -> dict:
    """One image's summary (an image without results is checking or not checked)."""
    return summaries_for([image_id], user).get(image_id) or _summary(NOT_CHECKED, [])


# The measures the viewer shows, in words: (key, label, format). Other checks' values are shown
# as they are (short ones only); a list shows its length.
MEASURES = {
    "gradability": [
        ("sharpness", "Sharpness", "{:.2f}"),
        ("brightness", "Brightness", "{:.0f} of 255"),
        ("glare", "Glare", "{:.0%}"),
        ("contrast", "Contrast", "{:.2f}"),
        ("missing", "Field of view missing", "{:.0%}"),
        ("offset", "Off-centre", "{:.2f} radii"),
    ],
    "laterality": [
        ("declared", "Declared eye", "{}"),
        ("predicted", "Optic disc says", "{}"),
        ("confidence", "Confidence", "{:.0%}"),
    ],
    "near_duplicate": [
        ("distance", "Difference", "{} of 256 bits"),
        ("candidates", "Images compared", "{}"),
        ("hash", "Hash", "{}"),
    ],
    "burned_text": [("count", "Text boxes", "{}")],
}
MAX_VALUES = 8


def values_summary(name: str, values) -> list[tuple[str, str]]:
    """[(label, value)] of a result's values, for people."""
    if not isinstance(values, dict):
        return []
    if name in MEASURES:
        return [
            (label, _formatted(form, values[key]))
            for key, label, form in MEASURES[name]
            if values.get(key) not in (None, "")
        ]
    shown = []
    for key, value in values.items():
        if isinstance(value, list | tuple | dict):
            value = len(value)
        if isinstance(value, str) and len(value) > 60:
            continue
        if isinstance(value, float):
            value = f"{value:.3g}"
        shown.append((key.replace("_", " ").capitalize(), str(value)))
    return shown[:MAX_VALUES]


def _formatted(form: str, value) -> str:
    try:
        return form.format(value)
    except (TypeError, ValueError):
        return str(value)


def details_for(image, user) -> list[dict]:
    """The viewer's panel: every result of one image with its values in words, when and how
    long it ran, and the twin (an Image, only when `user` may see it)."""
    rows = list(ImageCheck.objects.filter(image=image))
    twin_ids = {row.twin_id for row in rows if row.twin_id}
    twins = {}
    if twin_ids:
        twins = {
            twin.pk: twin
            for twin in Image.objects.visible_to(user)
            .filter(pk__in=twin_ids)
            .select_related("area")
        }
    order = {name: n for n, name in enumerate(names())}
    rows.sort(key=lambda r: (order.get(r.name, len(order)), r.name))
    details = []
    for row in rows:
        reviewed = row.reviewed_at is not None
        tone, text = describe(row.name, row.verdict, row.reason, row.flagged, reviewed)
        details.append(
            {
                "name": row.name,
                "label": label_of(row.name),
                "verdict": row.verdict,
                "verdict_label": row.get_verdict_display(),
                "reason": row.reason,
                "flagged": row.flagged,
                "reviewed": reviewed,
                "reviewed_at": row.reviewed_at,
                "version": row.version,
                "ran_at": row.ran_at,
                "milliseconds": row.milliseconds,
                "values": values_summary(row.name, row.values),
                "twin": twins.get(row.twin_id),
                "tone": tone,
                "text": text,
            }
        )
    return details


def panel_for(image, user) -> dict:
    """The viewer's "Checks at capture": its state and every result in detail."""
    details = details_for(image, user)
    state = _state(image.created_at, {d["name"] for d in details})
    return {
        "state": state,
        "text": STATE_TEXT[state],
        "flagged": any(d["flagged"] for d in details),
        "checks": details,
    }
