"""The reference data every installation needs, and a demo set of hospitals and cameras."""

from fundushub.catalog.models import Area, Camera, Disease, Hospital, LabUnit

DISEASES = [
    ("DR", "Diabetic retinopathy"),
    ("Glaucoma", "Glaucoma"),
    ("AMD", "Age-related macular degeneration"),
]
AREAS = [("left", "Left eye"), ("right", "Right eye"), ("both", "Both eyes")]
DEMO_HOSPITALS = {
    "St Lucia Eye Hospital": ["Retina Clinic", "Diabetes Screening"],
    "Northgate General Hospital": ["Ophthalmology Outpatients", "Mobile Screening Van"],
    "Riverside Community Clinic": ["Primary Care Screening"],
}
DEMO_CAMERAS = [
    ("Topcon TRC-NW400", "Topcon"),
    ("Canon CR-2 AF", "Canon"),
    ("Zeiss VISUCAM 500", "Zeiss"),
    ("Optos Daytona", "Optos"),
]


def load_reference_data(demo: bool = False) -> dict:
    """Create what is missing (idempotent); returns how many rows of each kind were added."""
    added = {"diseases": 0, "areas": 0, "hospitals": 0, "lab_units": 0, "cameras": 0}
    for code, name in DISEASES:
        added["diseases"] += Disease.objects.get_or_create(code=code, defaults={"name": name})[1]
    for code, name in AREAS:
        added["areas"] += Area.objects.get_or_create(code=code, defaults={"name": name})[1]
    if demo:
        for hospital_name, units in DEMO_HOSPITALS.items():
            hospital, created = Hospital.objects.get_or_create(name=hospital_name)
            added["hospitals"] += created
            for unit in units:
                added["lab_units"] += LabUnit.objects.get_or_create(hospital=hospital, name=unit)[1]
        for name, maker in DEMO_CAMERAS:
            added["cameras"] += Camera.objects.get_or_create(
                name=name, defaults={"manufacturer": maker}
            )[1]
    return added
