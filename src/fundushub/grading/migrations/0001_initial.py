"""Grade moves from the image store to grading: the same table (images_grade), now owned here.

State only: the table, its rows and its constraint stay exactly as they are.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("catalog", "0001_initial"),
        ("images", "0004_dashboard_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Grade",
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
                        ("revision", models.PositiveIntegerField()),
                        ("grade", models.CharField(max_length=20)),
                        ("notes", models.TextField(blank=True)),
                        ("graded_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "disease",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                to="catalog.disease",
                            ),
                        ),
                        (
                            "graded_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "image",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="grades",
                                to="images.image",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "images_grade",
                        "ordering": ["image", "-revision"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("image", "revision"), name="grade_revision_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
