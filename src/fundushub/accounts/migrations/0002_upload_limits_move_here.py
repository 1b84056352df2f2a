# The site's upload limits move from uploads to accounts (the lower layer that owns users' quotas):
# the state takes over the existing table, then the table takes the app's name. No row changes.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("uploads", "0004_uploaditem_quota_held"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="UploadLimits",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "max_file_size_mb",
                            models.PositiveIntegerField(
                                blank=True,
                                help_text="Per-file size limit in MB (DIRECT_UPLOAD_MAX_FILE_SIZE_MB).",
                                null=True,
                            ),
                        ),
                        (
                            "max_files",
                            models.PositiveIntegerField(
                                blank=True,
                                help_text="Files per upload (DIRECT_UPLOAD_MAX_FILES).",
                                null=True,
                            ),
                        ),
                        (
                            "max_files_per_user",
                            models.PositiveIntegerField(
                                blank=True,
                                help_text="Default lifetime quota per user (MAX_FILES_PER_UPLOAD); 0 = unlimited.",
                                null=True,
                            ),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "verbose_name": "upload limits",
                        "verbose_name_plural": "upload limits",
                        "db_table": "uploads_uploadlimits",
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="uploadlimits", table=None),
    ]
