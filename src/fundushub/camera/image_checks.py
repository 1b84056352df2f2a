"""The `checks` object of the camera API's answers: what the checks at ingest found on each
picture a camera sent, so the workstation can say "recapture" while the patient is still there.

Optional and additive: the field's clients ignore keys they do not know. The upload answer
carries the file's own checks (pending at first: they run seconds after storing); the status
answer carries every picture of the session by its file name, with results as they land.
"""

from fundushub.camera.files import PICTURE_TYPES
from fundushub.camera.models import CameraFile
from fundushub.checks import standing

# What the person at the camera can do about a flag, by check (else GENERIC).
ADVICE = {
    "gradability": "recapture while the patient is here",
    "laterality": "check which eye it is before the patient leaves",
    "near_duplicate": "check it is not a copy of an earlier image",
    "burned_text": "check it for patient details burned into the picture",
}
GENERIC = "please look at it"


def file_checks(record: CameraFile) -> dict | None:
    """The checks of one camera file; None for a file that is not a picture (a report)."""
    return session_checks([record]).get(record.original_filename)


def session_checks(records) -> dict:
    """{original file name: checks} for the pictures among these camera files."""
    pictures = [r for r in records if r.file_type in PICTURE_TYPES]
    found = standing.standings([r.image_id for r in pictures if r.image_id])
    return {r.original_filename: _answer(r, found) for r in pictures}


def _answer(record: CameraFile, found: dict) -> dict:
    if record.image_state == "pending":
        entry = standing.pending()  # not stored yet; its checks run after storing
    elif record.image_id is None:
        entry = standing.not_checked(record.image_detail or "there is no image to check")
    else:
        entry = found[record.image_id]
        for name, result in entry["results"].items():
            if result["flagged"]:
                result["advice"] = ADVICE.get(name, GENERIC)
    return {"file_type": record.file_type, **entry}


def picture_files(session) -> list[CameraFile]:
    """The session's pictures with what the answer needs (one query)."""
    return list(
        CameraFile.objects.filter(session=session, file_type__in=PICTURE_TYPES)
        .order_by("original_filename")
        .only("id", "file_type", "original_filename", "image_state", "image_detail", "image_id")
    )
