"""What a user may pick from the reference lists (the upload form, the metadata editors), and
checking what they picked."""

from fundushub.accounts.roles import can_upload_pregraded
from fundushub.catalog.models import Area, Camera, Disease, Hospital, LabUnit

ALL_FIELDS_REQUIRED = "All fields are required"
NO_LAB_UNIT_ACCESS = "You don't have access to the selected lab unit"
NO_PREGRADED = (
    "You are not allowed to upload pre-graded sets; "
    "turn off “Pre-graded set” or ask a data manager to upload them"
)
FIELDS = ("hospital", "lab_unit", "camera", "disease", "area")


def options_for(user) -> dict:
    """Hospitals with the lab units assigned to the user, and the shared reference lists."""
    units = LabUnit.objects.filter(users=user).select_related("hospital").order_by("name")
    hospitals: dict[int, dict] = {}
    for unit in units:
        h = hospitals.setdefault(
            unit.hospital_id,
            {"id": unit.hospital_id, "name": unit.hospital.name, "lab_units": []},
        )
        h["lab_units"].append({"id": unit.pk, "name": unit.name})
    return {
        "hospitals": sorted(hospitals.values(), key=lambda h: h["name"]),
        "cameras": [{"id": c.pk, "name": c.name} for c in Camera.objects.all()],
        "diseases": [{"id": d.pk, "code": d.code, "name": d.name} for d in Disease.objects.all()],
        "areas": [{"id": a.pk, "code": a.code, "name": a.name} for a in Area.objects.all()],
    }


def _pick(model, raw):
    try:
        return model.objects.filter(pk=int(raw)).first()
    except (TypeError, ValueError):
        return None


def clean_choices(user, data) -> tuple[dict | None, str]:
    """(choices, "") when valid, else (None, the message to show)."""
    raw = {f: (data.get(f) or "").strip() for f in FIELDS}
    if not all(raw.values()):
        return None, ALL_FIELDS_REQUIRED
    picked = {
        "hospital": _pick(Hospital, raw["hospital"]),
        "lab_unit": _pick(LabUnit, raw["lab_unit"]),
        "camera": _pick(Camera, raw["camera"]),
        "disease": _pick(Disease, raw["disease"]),
        "area": _pick(Area, raw["area"]),
    }
    if picked["hospital"] is None or picked["lab_unit"] is None:
        return None, NO_LAB_UNIT_ACCESS
    if None in picked.values():
        return None, ALL_FIELDS_REQUIRED
    unit = picked["lab_unit"]
    if unit.hospital_id != picked["hospital"].pk or not user.lab_units.filter(pk=unit.pk).exists():
        return None, NO_LAB_UNIT_ACCESS
    picked["mydriatic"] = _checked(data.get("mydriatic"))
    # Refused rather than ignored: silently storing a pre-graded set as ungraded misleads.
    picked["pre_graded"] = _checked(data.get("pre_graded"))
    if picked["pre_graded"] and not can_upload_pregraded(user):
        return None, NO_PREGRADED
    return picked, ""


def _checked(raw) -> bool:
    return (raw or "").lower() in ("on", "true", "1", "yes")


def may_use_hospital(user, hospital_id) -> bool:
    return LabUnit.objects.filter(users=user, hospital_id=hospital_id).exists()
