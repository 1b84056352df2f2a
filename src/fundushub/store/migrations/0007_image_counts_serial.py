"""PostgreSQL reads the image counts without parallel workers: the tables are small next to
images_image, and starting workers for the KPI statement costs more than it saves (figures in
bench/RESULTS.md). A storage parameter of these tables only; SQLite has nothing to change."""

from django.db import migrations

TABLES = ("images_imagecount", "images_monthlyimagecount", "images_dailyimagecount")


def serial(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (parallel_workers = 0)")


def parallel(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (parallel_workers)")


class Migration(migrations.Migration):
    dependencies = [("images", "0006_image_counts")]

    operations = [migrations.RunPython(serial, parallel)]
