"""Grading scales per disease: the values a grader may record for an image's disease."""

# Codes are stored; labels are shown. Every scale ends with "ungradable" (image quality too poor).
SCALES = {
    "DR": [
        ("R0", "No diabetic retinopathy"),
        ("R1", "Mild non-proliferative"),
        ("R2", "Moderate non-proliferative"),
        ("R3", "Severe non-proliferative"),
        ("R4", "Proliferative"),
        ("U", "Ungradable"),
    ],
    "Glaucoma": [
        ("G0", "No glaucomatous signs"),
        ("G1", "Glaucoma suspect"),
        ("G2", "Glaucomatous optic neuropathy"),
        ("U", "Ungradable"),
    ],
    "AMD": [
        ("A0", "No AMD"),
        ("A1", "Early AMD"),
        ("A2", "Intermediate AMD"),
        ("A3", "Late AMD"),
        ("U", "Ungradable"),
    ],
}
# An image with no disease, or a disease without its own scale, is graded on this one.
GENERIC = [("N", "Normal"), ("A", "Abnormal"), ("U", "Ungradable")]


def scale_for(disease) -> list[tuple[str, str]]:
    return SCALES.get(getattr(disease, "code", None), GENERIC)


def label_for(disease, code: str) -> str:
    return dict(scale_for(disease)).get(code, code)
