"""Covering indexes for the dashboard (see library/dashboard.py; figures in bench/RESULTS.md).

- image_dash_page: the grid walks (created_at, id) newest first and checks scope and filters from
  the index alone, reading table rows only for the page it shows, even when a filter
  matches nothing.
- image_dash_kpi: the KPI query groups by (camera, disease, area) in index order, filtering from
  the same entries, without a sort or table reads.

Raw SQL (valid on SQLite and PostgreSQL) rather than Meta.indexes: the model's own indexes are
the single-column ones every query may use; these two serve only the dashboard's queries.
"""

from django.db import migrations

PAGE = (
    "created_at, id, lab_unit_id, uploaded_by_id, hospital_id, camera_id, disease_id, area_id, "
    "grading_status, source"
)
KPI = (
    "camera_id, disease_id, area_id, lab_unit_id, uploaded_by_id, hospital_id, created_at, "
    "grading_status, source"
)


class Migration(migrations.Migration):
    dependencies = [("images", "0003_grading_and_edits")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX image_dash_page ON images_image ({PAGE})",
            "DROP INDEX image_dash_page",
        ),
        migrations.RunSQL(
            f"CREATE INDEX image_dash_kpi ON images_image ({KPI})",
            "DROP INDEX image_dash_kpi",
        ),
    ]
