"""Querysets the ORM compiles to SQL once, which hot paths then run with new values.

On the camera API Django spent far longer compiling each small lookup than the database took to
answer it, five times per request (bench/RESULTS.md). A PreparedQuery builds its queryset once per
database with marker values and keeps the SQL the ORM wrote and the fields it selects; later runs
execute that SQL with the real values (prepared by the same fields) in the markers' places, apply
the same field converters and make the same model instances (`Model.from_db`). The SQL is always
the ORM's own, so it stays right for SQLite and PostgreSQL.

    DEVICE = PreparedQuery(
        lambda token: CameraDevice.objects.filter(token_hash=token)[:1],
        token=CameraDevice._meta.get_field("token_hash"),
    )
    device = DEVICE.first(token=digest)

Values must not be None (the ORM writes `IS NULL` for None: different SQL); querysets must
select one model's own columns (no select_related, values() or annotations).
"""

import itertools
import threading
import uuid
import weakref
from datetime import UTC, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections

_serial = itertools.count(1)


def _target(field):
    """The field whose column a lookup on `field` compares: a foreign key's target's."""
    return field.target_field if field.is_relation else field


def _marker(field, connection):
    """A value no real query uses, of the type the field expects, unique to this call."""
    n = next(_serial)
    kind = _target(field).get_internal_type()
    if kind == "UUIDField":
        return uuid.UUID(int=(0xF00D << 112) + n)
    if kind.endswith(("AutoField", "IntegerField")):
        # Inside the column's range: the ORM writes other SQL for an out-of-range integer.
        _, high = connection.ops.integer_field_ranges.get(kind, (None, 2**31 - 1))
        return high - n
    if kind == "DateTimeField":
        return datetime(1901, 1, 1, tzinfo=UTC) + timedelta(microseconds=n)
    return f"\x1fprepared-marker-{n}\x1f"


class PreparedQuery:
    def __init__(self, build, **fields):
        """build(**values) -> QuerySet; fields: for each value, the model field it is compared to."""
        self.build = build
        self.fields = fields
        self._compiled = {}
        self._lock = threading.Lock()
        # weak keys: a connection closed and replaced takes its converters with it
        self._converters_by_connection = weakref.WeakKeyDictionary()

    def _prepare(self, name, value, connection):
        return _target(self.fields[name]).get_db_prep_value(value, connection, prepared=False)

    def _compile(self, alias: str):
        connection = connections[alias]
        markers = {name: _marker(field, connection) for name, field in self.fields.items()}
        queryset = self.build(**markers)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        columns = [expression for expression, _, _ in compiler.select]
        if compiler.klass_info is None or any(
            getattr(c, "target", None) is None or c.target.model is not queryset.model
            for c in columns
        ):
            raise ValueError("a prepared query selects one model's own columns only")
        by_value = {self._prepare(name, m, connection): name for name, m in markers.items()}
        slots = []
        for param in params:
            try:
                slots.append((by_value.get(param), param))
            except TypeError:  # an unhashable constant (a list) is never a marker
                slots.append((None, param))
        found = [name for name, _ in slots if name]
        if sorted(found) != sorted(self.fields):
            raise ValueError(f"each value must appear once in the query's parameters: {found}")
        attnames = [column.target.attname for column in columns]
        return queryset.model, sql, slots, columns, attnames

    def _converters(self, connection, columns) -> list:
        """Per connection (each thread has its own): what the ORM would apply to each column."""
        found = self._converters_by_connection.get(connection)
        if found is None:
            found = []
            for i, column in enumerate(columns):
                functions = connection.ops.get_db_converters(column)
                functions += column.target.get_db_converters(connection)
                if functions:
                    found.append((i, functions, column))
            with self._lock:
                self._converters_by_connection[connection] = found
        return found

    def all(self, using: str = DEFAULT_DB_ALIAS, **values) -> list:
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(using) or self._compile(using)
                self._compiled[using] = compiled
        model, sql, slots, columns, attnames = compiled
        connection = connections[using]
        params = [
            self._prepare(name, values[name], connection) if name else constant
            for name, constant in slots
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        converters = self._converters(connection, columns)
        objects = []
        for row in rows:
            if converters:
                row = list(row)
                for i, functions, column in converters:
                    for convert in functions:
                        row[i] = convert(row[i], column, connection)
            objects.append(model.from_db(using, attnames, row))
        return objects

    def first(self, using: str = DEFAULT_DB_ALIAS, **values):
        found = self.all(using, **values)
        return found[0] if found else None
