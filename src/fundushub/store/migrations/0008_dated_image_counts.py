"""The monthly and daily image counts become one table, store.models.DatedImageCount (a month's
rows and a day's rows told apart by `monthly`), kept by the same triggers on images_image.

A date range's KPI statement then reads one table (an index range per part of the range) instead
of a UNION of two, which PostgreSQL ran as a Parallel Append whose worker start-up cost more than
the reads (bench/RESULTS.md). The trigger functions are replaced (PostgreSQL) or the triggers
recreated (SQLite) before the old tables go; existing images are counted when this runs.
"""

import importlib

from django.db import migrations, models

COUNTED_BY = (
    "lab_unit_id, uploaded_by_id, camera_id, disease_id, area_id, grading_status, source, "
    "hospital_id"
)
# (table, level): level None counts all time, "month"/"day" the UTC month/day of created_at.
LEVELS = (
    ("images_imagecount", None),
    ("images_datedimagecount", "month"),
    ("images_datedimagecount", "day"),
)
# vendor -> level -> its start for an image row (NEW, OLD or an alias); SQLite keeps datetimes
# as UTC text, and dates as YYYY-MM-DD.
STARTS = {
    "postgresql": {
        "day": lambda row: f"({row}.created_at AT TIME ZONE 'UTC')::date",
        "month": lambda row: f"date_trunc('month', {row}.created_at AT TIME ZONE 'UTC')::date",
    },
    "sqlite": {
        "day": lambda row: f"date({row}.created_at)",
        "month": lambda row: f"strftime('%Y-%m-01', {row}.created_at)",
    },
}


def _key(level) -> str:
    return f"monthly, start, {COUNTED_BY}" if level else COUNTED_BY


def _values(row: str, vendor: str, level) -> str:
    """The key of an image row (NEW, OLD or an alias), in _key(level)'s order."""
    counted = (
        f"{row}.lab_unit_id, COALESCE({row}.uploaded_by_id, 0), COALESCE({row}.camera_id, 0), "
        f"COALESCE({row}.disease_id, 0), COALESCE({row}.area_id, 0), {row}.grading_status, "
        f"{row}.source, {row}.hospital_id"
    )
    if level is None:
        return counted
    monthly = "TRUE" if level == "month" else "FALSE"
    return f"{monthly}, {STARTS[vendor][level](row)}, {counted}"


def _columns(alias: str, key: str) -> str:
    return ", ".join(f"{alias}.{column}" for column in key.split(", "))


def _positions(key: str) -> str:
    return ", ".join(str(i + 1) for i in range(len(key.split(", "))))


# PostgreSQL ------------------------------------------------------------------------------------


def _pg_delta(table: str, level, signed_rows: str) -> str:
    """Add each key's net change (zero changes left out) to the counts, in key order."""
    key, by = _key(level), _positions(_key(level))
    return f"""
        INSERT INTO {table} ({key}, n)
        SELECT {_values("r", "postgresql", level)}, SUM(r.delta) FROM ({signed_rows}) r
        GROUP BY {by} HAVING SUM(r.delta) <> 0 ORDER BY {by}
        ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + EXCLUDED.n;
    """


def _pg_drop_zeros(table: str, level) -> str:
    """Remove the count rows the statement brought to 0 (only among those it touched)."""
    key = _key(level)
    return f"""
        DELETE FROM {table} c
        USING (SELECT DISTINCT {_values("o", "postgresql", level)} FROM old_rows o) AS k ({key})
        WHERE c.n = 0 AND ({_columns("c", key)}) = ({_columns("k", key)});
    """


SIGNED = {
    "insert": "SELECT *, 1 AS delta FROM new_rows",
    "delete": "SELECT *, -1 AS delta FROM old_rows",
    "update": "SELECT *, 1 AS delta FROM new_rows UNION ALL SELECT *, -1 AS delta FROM old_rows",
}


def _pg_replace(cursor) -> None:
    """New bodies for 0006's trigger functions; the triggers themselves stay."""
    for op, signed in SIGNED.items():
        body = "".join(
            _pg_delta(table, level, signed)
            + (_pg_drop_zeros(table, level) if op != "insert" else "")
            for table, level in LEVELS
        )
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION images_count_{op}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$\nBEGIN {body} RETURN NULL; END $$"
        )
    # Small next to images_image: a parallel plan's start-up costs more than it saves.
    cursor.execute("ALTER TABLE images_datedimagecount SET (parallel_workers = 0)")


# SQLite ----------------------------------------------------------------------------------------


def _sqlite_add(row: str) -> str:
    return "".join(
        f"INSERT INTO {table} ({_key(level)}, n) VALUES ({_values(row, 'sqlite', level)}, 1) "
        f"ON CONFLICT ({_key(level)}) DO UPDATE SET n = n + 1; "
        for table, level in LEVELS
    )


def _sqlite_remove(row: str) -> str:
    statements = []
    for table, level in LEVELS:
        where = f"({_key(level)}) = ({_values(row, 'sqlite', level)})"
        statements.append(f"UPDATE {table} SET n = n - 1 WHERE {where}; ")
        statements.append(f"DELETE FROM {table} WHERE n = 0 AND {where}; ")
    return "".join(statements)


SQLITE_TRIGGERS = {
    "insert": ("AFTER INSERT", _sqlite_add("NEW")),
    "delete": ("AFTER DELETE", _sqlite_remove("OLD")),
    "update": (
        f"AFTER UPDATE OF created_at, {COUNTED_BY}",
        _sqlite_remove("OLD") + _sqlite_add("NEW"),
    ),
}


def _sqlite_replace(cursor) -> None:
    for op, (when, body) in SQLITE_TRIGGERS.items():
        cursor.execute(f"DROP TRIGGER IF EXISTS images_count_{op}")
        cursor.execute(
            f"CREATE TRIGGER images_count_{op} {when} ON images_image FOR EACH ROW BEGIN {body}END"
        )


# Both ------------------------------------------------------------------------------------------


def count_by_dates(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table, level in LEVELS[1:]:
            # In key order, as the triggers add them day by day: a range's rows lie together.
            by = _positions(_key(level))
            cursor.execute(
                f"INSERT INTO {table} ({_key(level)}, n) "
                f"SELECT {_values('i', connection.vendor, level)}, COUNT(*) "
                f"FROM images_image i GROUP BY {by} ORDER BY {by}"
            )
        (_pg_replace if connection.vendor == "postgresql" else _sqlite_replace)(cursor)


def count_by_months_and_days(apps, schema_editor):
    """Back to 0006 and 0007: their triggers, and every count made again."""
    counts = importlib.import_module("fundushub.store.migrations.0006_image_counts")
    serial = importlib.import_module("fundushub.store.migrations.0007_image_counts_serial")
    counts.drop_triggers(apps, schema_editor)
    schema_editor.execute("DELETE FROM images_imagecount")
    counts.create_triggers(apps, schema_editor)
    serial.serial(apps, schema_editor)


def _fields():
    return [
        (
            "id",
            models.BigAutoField(
                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
            ),
        ),
        ("hospital_id", models.BigIntegerField()),
        ("lab_unit_id", models.BigIntegerField()),
        ("uploaded_by_id", models.BigIntegerField()),
        ("camera_id", models.BigIntegerField()),
        ("disease_id", models.BigIntegerField()),
        ("area_id", models.BigIntegerField()),
        ("grading_status", models.CharField(max_length=12)),
        ("source", models.CharField(max_length=10)),
        ("n", models.IntegerField()),
        ("monthly", models.BooleanField()),
        ("start", models.DateField()),
    ]


class Migration(migrations.Migration):
    dependencies = [("images", "0007_image_counts_serial")]

    operations = [
        migrations.CreateModel(
            name="DatedImageCount",
            fields=_fields(),
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("monthly", "start", *COUNTED_BY.split(", ")),
                        name="dated_image_count_key",
                    )
                ],
            },
        ),
        migrations.RunPython(count_by_dates, count_by_months_and_days),
        migrations.DeleteModel(name="MonthlyImageCount"),
        migrations.DeleteModel(name="DailyImageCount"),
    ]
