"""The subject registry, as the layers below the ways in see it.

The registry (camera.Subject) belongs to the camera API, and a direct upload may not import the
camera app; so the camera registers its answer here in its AppConfig.ready() and uploads ask
through this module. With no registry answering, nothing is checked.
"""

from collections.abc import Callable, Iterable

# (hospital_id, identifiers) -> the identifiers the registry knows at that hospital, or None when
# the hospital keeps no registry (no subject is registered there: there is nothing to check).
Lookup = Callable[[int, list[str]], set[str] | None]
_lookups: list[Lookup] = []


def register(lookup: Lookup) -> Lookup:
    if lookup not in _lookups:
        _lookups.append(lookup)
    return lookup


def unknown_subjects(hospital_id: int, identifiers: Iterable[str]) -> list[str] | None:
    """The identifiers no registry knows at this hospital, in the order given (deduplicated);
    None when no registry is kept for it, so every identifier is accepted as typed."""
    wanted = list(dict.fromkeys(i for i in identifiers if i))
    answers = [lookup(hospital_id, wanted) for lookup in _lookups]
    answers = [a for a in answers if a is not None]
    if not answers:
        return None
    known = set().union(*answers)
    return [i for i in wanted if i not in known]
