"""Grade now belongs to the grading app (grading/0001): the store forgets it, the table stays."""

from django.db import migrations


def move_content_type(apps, schema_editor):
    # Permissions and admin history point at the content type: it follows the model.
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="grading", model="grade").exists():
        ContentType.objects.filter(app_label="images", model="grade").update(app_label="grading")


def move_it_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="grading", model="grade").update(app_label="images")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("images", "0004_dashboard_indexes"),
        ("grading", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Grade")],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_it_back),
    ]
