"""Grading pages: the worklist, examinations, quality assurance and outcomes out."""

from django.urls import path  # noqa: F401  (routes are added below, one block per page family)

from fundushub.grading import (
    examination_views,
    grading_views,
    outcome_views,
    quality_views,
    worklist_views,
)

urlpatterns = [
    # worklist and grading
    path("grading/", worklist_views.worklist_page, name="grading-worklist"),
    path("grading/start", worklist_views.start, name="grading-start"),
    path("grading/examinations/<uuid:exam_id>/grade", grading_views.grade, name="grading-grade"),
    path(
        "grading/examinations/<uuid:exam_id>/release", grading_views.release, name="grading-release"
    ),
    path("grading/examinations/<uuid:exam_id>/revise", grading_views.revise, name="grading-revise"),
    # examinations
    path("examinations/outcomes", outcome_views.export_page, name="outcomes"),
    path("examinations/outcomes.csv", outcome_views.export_csv, name="outcomes-export"),
    path("examinations/<uuid:exam_id>", examination_views.examination, name="examination"),
    path(
        "examinations/<uuid:exam_id>/images/<uuid:image_id>/move",
        examination_views.move_image,
        name="examination-move-image",
    ),
    path("examinations/<uuid:exam_id>/letter", outcome_views.letter, name="examination-letter"),
    path("api/examinations/<uuid:exam_id>", outcome_views.examination_api, name="api-examination"),
    # quality assurance
    path("grading/quality", quality_views.quality_page, name="grading-quality"),
    path("grading/quality.csv", quality_views.quality_csv, name="grading-quality-csv"),
    path(
        "grading/quality/gradability.csv",
        quality_views.gradability_csv,
        name="grading-gradability-csv",
    ),
]
