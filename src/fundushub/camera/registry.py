"""The camera's subject registry, answering for the layers that may not import it."""

from fundushub.camera.models import Subject


def known_subjects(hospital_id: int, identifiers: list[str]) -> set[str] | None:
    """The identifiers registered at the hospital; None if it registers no subject at all."""
    registered = Subject.objects.filter(site_id=hospital_id)
    if not registered.exists():
        return None
    found = registered.filter(subject_identifier__in=identifiers)
    return set(found.values_list("subject_identifier", flat=True))
