"""Image counts (store.models: ImageCount, MonthlyImageCount, DailyImageCount), kept by triggers
on images_image. An image's month and day are those of its created_at in UTC.

Triggers rather than code at each write path: every insert, update and delete of an image moves
the counts in its own transaction, whoever wrote it (intake, bulk edit, grading, deletion, a user
deleted and their uploads set to no uploader, bulk_create or COPY). PostgreSQL runs one
statement-level trigger per statement, grouping its rows (transition tables) and taking the count
rows' locks in key order; SQLite runs row triggers. Count rows that reach 0 are removed, so a row
exists only for images that exist. Existing images are counted when the migration runs.

The KPI index of 0004 goes: the KPI cards read these counts instead.
"""

from django.db import migrations, models

COUNTED_BY = (
    "lab_unit_id, uploaded_by_id, camera_id, disease_id, area_id, grading_status, source, "
    "hospital_id"
)
# table -> the period its key starts with (None: all time)
TABLES = {
    "images_imagecount": None,
    "images_monthlyimagecount": "month",
    "images_dailyimagecount": "day",
}
# vendor -> period -> the period of an image row (NEW, OLD or an alias); SQLite keeps datetimes
# as UTC text, and dates as YYYY-MM-DD.
PERIODS = {
    "postgresql": {
        "day": lambda row: f"({row}.created_at AT TIME ZONE 'UTC')::date",
        "month": lambda row: f"date_trunc('month', {row}.created_at AT TIME ZONE 'UTC')::date",
    },
    "sqlite": {
        "day": lambda row: f"date({row}.created_at)",
        "month": lambda row: f"strftime('%Y-%m-01', {row}.created_at)",
    },
}


def _key(period) -> str:
    return f"{period}, {COUNTED_BY}" if period else COUNTED_BY


def _values(row: str, vendor: str, period) -> str:
    """The key of an image row (NEW, OLD or an alias), in _key(period)'s order."""
    counted = (
        f"{row}.lab_unit_id, COALESCE({row}.uploaded_by_id, 0), COALESCE({row}.camera_id, 0), "
        f"COALESCE({row}.disease_id, 0), COALESCE({row}.area_id, 0), {row}.grading_status, "
        f"{row}.source, {row}.hospital_id"
    )
    return f"{PERIODS[vendor][period](row)}, {counted}" if period else counted


def _columns(alias: str, key: str) -> str:
    return ", ".join(f"{alias}.{column}" for column in key.split(", "))


def _positions(key: str) -> str:
    return ", ".join(str(i + 1) for i in range(len(key.split(", "))))


# PostgreSQL ------------------------------------------------------------------------------------


def _pg_delta(table: str, period, signed_rows: str) -> str:
    """Add each key's net change (zero changes left out) to the counts, in key order."""
    key, by = _key(period), _positions(_key(period))
    return f"""
        INSERT INTO {table} ({key}, n)
        SELECT {_values("r", "postgresql", period)}, SUM(r.delta) FROM ({signed_rows}) r
        GROUP BY {by} HAVING SUM(r.delta) <> 0 ORDER BY {by}
        ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + EXCLUDED.n;
    """


def _pg_drop_zeros(table: str, period) -> str:
    """Remove the count rows the statement brought to 0 (only among those it touched)."""
    key = _key(period)
    return f"""
        DELETE FROM {table} c
        USING (SELECT DISTINCT {_values("o", "postgresql", period)} FROM old_rows o) AS k ({key})
        WHERE c.n = 0 AND ({_columns("c", key)}) = ({_columns("k", key)});
    """


SIGNED = {
    "insert": "SELECT *, 1 AS delta FROM new_rows",
    "delete": "SELECT *, -1 AS delta FROM old_rows",
    "update": "SELECT *, 1 AS delta FROM new_rows UNION ALL SELECT *, -1 AS delta FROM old_rows",
}
PG_REFERENCING = {
    "insert": "NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _pg_create(cursor) -> None:
    for op, signed in SIGNED.items():
        body = "".join(
            _pg_delta(table, period, signed)
            + (_pg_drop_zeros(table, period) if op != "insert" else "")
            for table, period in TABLES.items()
        )
        cursor.execute(
            f"CREATE FUNCTION images_count_{op}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN {body} RETURN NULL; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER images_count_{op} AFTER {op.upper()} ON images_image "
            f"REFERENCING {PG_REFERENCING[op]} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION images_count_{op}()"
        )


def _pg_drop(cursor) -> None:
    for op in SIGNED:
        cursor.execute(f"DROP TRIGGER IF EXISTS images_count_{op} ON images_image")
        cursor.execute(f"DROP FUNCTION IF EXISTS images_count_{op}()")


# SQLite ----------------------------------------------------------------------------------------


def _sqlite_add(row: str) -> str:
    return "".join(
        f"INSERT INTO {table} ({_key(period)}, n) VALUES ({_values(row, 'sqlite', period)}, 1) "
        f"ON CONFLICT ({_key(period)}) DO UPDATE SET n = n + 1; "
        for table, period in TABLES.items()
    )


def _sqlite_remove(row: str) -> str:
    statements = []
    for table, period in TABLES.items():
        where = f"({_key(period)}) = ({_values(row, 'sqlite', period)})"
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


def _sqlite_create(cursor) -> None:
    for op, (when, body) in SQLITE_TRIGGERS.items():
        cursor.execute(
            f"CREATE TRIGGER images_count_{op} {when} ON images_image FOR EACH ROW BEGIN {body}END"
        )


def _sqlite_drop(cursor) -> None:
    for op in SQLITE_TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS images_count_{op}")


# Both ------------------------------------------------------------------------------------------


def create_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table, period in TABLES.items():
            cursor.execute(
                f"INSERT INTO {table} ({_key(period)}, n) "
                f"SELECT {_values('i', connection.vendor, period)}, COUNT(*) "
                f"FROM images_image i GROUP BY {_positions(_key(period))}"
            )
        (_pg_create if connection.vendor == "postgresql" else _sqlite_create)(cursor)


def drop_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    with schema_editor.connection.cursor() as cursor:
        (_pg_drop if postgres else _sqlite_drop)(cursor)


def _fields(*extra):
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
        *extra,
    ]


def _unique(*first):
    return (*first, *COUNTED_BY.split(", "))


class Migration(migrations.Migration):
    dependencies = [("images", "0005_grade_moves_to_grading")]

    operations = [
        migrations.CreateModel(
            name="ImageCount",
            fields=_fields(),
            options={
                "constraints": [models.UniqueConstraint(fields=_unique(), name="image_count_key")],
            },
        ),
        migrations.CreateModel(
            name="MonthlyImageCount",
            fields=_fields(("month", models.DateField())),
            options={
                "constraints": [
                    models.UniqueConstraint(fields=_unique("month"), name="monthly_image_count_key")
                ],
            },
        ),
        migrations.CreateModel(
            name="DailyImageCount",
            fields=_fields(("day", models.DateField())),
            options={
                "constraints": [
                    models.UniqueConstraint(fields=_unique("day"), name="daily_image_count_key")
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunSQL(
            "DROP INDEX image_dash_kpi",
            "CREATE INDEX image_dash_kpi ON images_image (camera_id, disease_id, area_id, "
            "lab_unit_id, uploaded_by_id, hospital_id, created_at, grading_status, source)",
        ),
    ]
