"""Changing an image's metadata (hospital, lab unit, camera, disease, area, mydriatic), for one
image or a selection: the rules, the change itself, and its audit record.

The rules are the upload form's (every field required for one image; the lab unit must belong to
the hospital and be assigned to the user), with two additions: moving an image to another hospital
must not make it a second copy of an image that hospital already has (the database's unique
constraint decides), and a graded image keeps its disease, since its grades are for that disease.
"""

from django.db import IntegrityError, transaction

from fundushub.audit.models import record
from fundushub.catalog.choices import ALL_FIELDS_REQUIRED, NO_LAB_UNIT_ACCESS
from fundushub.catalog.models import Area, Camera, Disease, Hospital, LabUnit
from fundushub.store.models import GradingStatus, Image

FIELDS = ("hospital", "lab_unit", "camera", "disease", "area", "mydriatic")
_MODELS = {
    "hospital": Hospital,
    "lab_unit": LabUnit,
    "camera": Camera,
    "disease": Disease,
    "area": Area,
}
RELATED = ("hospital", "lab_unit", "camera", "disease", "area")
NOTHING_CHANGED = "Nothing changed"
NOTHING_CHOSEN = "Choose at least one field to change."
HOSPITAL_NEEDS_LAB_UNIT = "Choose a lab unit in the new hospital."
TRUE_WORDS = ("on", "true", "1", "yes")


class MetadataError(Exception):
    """A change refused with a message for the user; nothing was written."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


def _pick(model, raw):
    try:
        return model.objects.filter(pk=int(raw)).first()
    except (TypeError, ValueError):
        return None


def _assigned(user, unit) -> bool:
    return user.lab_units.filter(pk=unit.pk).exists()


def clean_one(user, image, data) -> dict:
    """The new values for one image from its edit form (every field required), or MetadataError."""
    raw = {f: str(data.get(f) or "").strip() for f in RELATED}
    # A graded image graded without a disease keeps having none (its grades are on that basis).
    required = [f for f in RELATED if f != "disease" or not _graded_without_disease(image)]
    if not all(raw[f] for f in required):
        raise MetadataError(ALL_FIELDS_REQUIRED)
    values = {f: _pick(_MODELS[f], raw[f]) if raw[f] else None for f in RELATED}
    hospital, unit = values["hospital"], values["lab_unit"]
    if hospital is None or unit is None or unit.hospital_id != hospital.pk:
        raise MetadataError(NO_LAB_UNIT_ACCESS)
    if any(values[f] is None for f in required):
        raise MetadataError(ALL_FIELDS_REQUIRED)
    # Keeping the lab unit the image is in is not a move; only a new one must be yours.
    if unit.pk != image.lab_unit_id and not _assigned(user, unit):
        raise MetadataError(NO_LAB_UNIT_ACCESS)
    values["mydriatic"] = str(data.get("mydriatic") or "").lower() in TRUE_WORDS
    return values


def _graded_without_disease(image) -> bool:
    return image.grading_status == GradingStatus.GRADED and image.disease_id is None


def clean_bulk(user, data) -> dict:
    """The fields to set on every selected image ("" leaves a field unchanged), or MetadataError.

    mydriatic is "" (unchanged), "0" or "1", so a selection can be set back to non-mydriatic.
    """
    raw = {f: str(data.get(f) or "").strip() for f in FIELDS}
    values = {}
    for field in RELATED:
        if raw[field]:
            values[field] = _pick(_MODELS[field], raw[field])
            if values[field] is None:
                raise MetadataError(f"Choose a {_label(field)} from the list.")
    if raw["mydriatic"] in ("0", "1"):
        values["mydriatic"] = raw["mydriatic"] == "1"
    elif raw["mydriatic"]:
        raise MetadataError("Choose Leave unchanged, Non Mydriatic or Mydriatic.")
    if not values:
        raise MetadataError(NOTHING_CHOSEN)
    hospital, unit = values.get("hospital"), values.get("lab_unit")
    if hospital is not None and unit is None:
        raise MetadataError(HOSPITAL_NEEDS_LAB_UNIT)
    if unit is not None:
        if hospital is not None and unit.hospital_id != hospital.pk:
            raise MetadataError(NO_LAB_UNIT_ACCESS)
        if not _assigned(user, unit):
            raise MetadataError(NO_LAB_UNIT_ACCESS)
    return values


def _label(field) -> str:
    return field.replace("_", " ")


def describe(field, value):
    """How a value appears in the audit record: ids and names, so it reads without joins."""
    if field == "mydriatic" or value is None:
        return value
    name = value.code if field == "disease" else value.name
    return {"id": value.pk, "name": name}


def _changes(image, values) -> dict:
    """{field: (before, after)} for the fields whose value differs."""
    changes = {}
    for field, new in values.items():
        old = getattr(image, field)
        old_key = old if field == "mydriatic" else getattr(old, "pk", None)
        new_key = new if field == "mydriatic" else getattr(new, "pk", None)
        if old_key != new_key:
            changes[field] = (old, new)
    return changes


def _refuse_orphaned_grades(images, values) -> None:
    """A graded image's grades are for its disease: changing it would leave them meaning nothing."""
    if "disease" not in values:
        return
    stuck = [
        i
        for i in images
        if i.grading_status == GradingStatus.GRADED
        and i.disease_id != getattr(values["disease"], "pk", None)
    ]
    if len(stuck) == 1 and len(images) == 1:
        disease = stuck[0].disease.code if stuck[0].disease else "no disease"
        raise MetadataError(
            f"The disease of a graded image cannot be changed: its grades are for {disease}."
        )
    if stuck:
        names = ", ".join(i.original_filename for i in stuck)
        raise MetadataError(f"The disease of graded images cannot be changed: {names}.")


def _refuse_foreign_lab_unit(images, values) -> None:
    """A lab unit chosen without a hospital must be in each image's own hospital."""
    unit = values.get("lab_unit")
    if unit is None or "hospital" in values:
        return
    elsewhere = [i for i in images if i.hospital_id != unit.hospital_id]
    if elsewhere:
        names = ", ".join(f"{i.original_filename} ({i.hospital.name})" for i in elsewhere)
        raise MetadataError(
            f"{unit.name} is not in the hospital of {names}. "
            "Choose the hospital too, or leave the lab unit unchanged."
        )


def _save(image, changes) -> None:
    for field, (_, new) in changes.items():
        setattr(image, field, new)
    try:
        with transaction.atomic():
            image.save(update_fields=[f for f in changes])
    except IntegrityError:
        raise MetadataError(
            f"An identical image is already stored for {image.hospital.name}, so"
            f" {image.original_filename} cannot move there. Nothing was changed.",
            status=409,
        ) from None


def _audit(request, image, changes, **extra) -> None:
    record(
        "image.metadata_changed",
        request=request,
        obj=image,
        filename=image.original_filename,
        before={f: describe(f, old) for f, (old, _) in changes.items()},
        after={f: describe(f, new) for f, (_, new) in changes.items()},
        **extra,
    )


def _locked(ids):
    # of=self: the nullable catalog joins cannot be locked (PostgreSQL), nor need to be.
    return list(
        Image.objects.select_for_update(of=("self",))
        .select_related(*RELATED)
        .filter(pk__in=ids)
        .order_by("created_at", "id")
    )


def change_one(request, image, values) -> dict:
    """Apply the edit form's values to one image; returns {field: (before, after)} ({} if none)."""
    with transaction.atomic():
        locked = _locked([image.pk])
        if not locked:
            raise MetadataError("This image was deleted meanwhile.", status=404)
        (image,) = locked
        _refuse_orphaned_grades([image], values)
        changes = _changes(image, values)
        if changes:
            _save(image, changes)
            _audit(request, image, changes)
    return changes


def change_many(request, ids, values) -> list:
    """Apply values to every image in ids, all or nothing; returns the images that changed.

    One transaction: a refusal or a unique-constraint collision on any image rolls back all.
    """
    with transaction.atomic():
        images = _locked(ids)
        if len(images) != len(set(ids)):
            raise MetadataError(
                "Some of the selected images were deleted meanwhile. Nothing was changed.",
                status=409,
            )
        _refuse_orphaned_grades(images, values)
        _refuse_foreign_lab_unit(images, values)
        changed = []
        for image in images:
            changes = _changes(image, values)
            if changes:
                _save(image, changes)
                _audit(request, image, changes, bulk=True)
                changed.append(image)
        record(
            "images.bulk_edited",
            request=request,
            images=[str(i.pk) for i in images],
            changed=[str(i.pk) for i in changed],
            values={f: describe(f, v) for f, v in values.items()},
        )
    return changed
